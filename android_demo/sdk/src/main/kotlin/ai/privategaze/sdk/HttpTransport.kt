/*
 * The network under the gaze client: one request out, one bounded answer back. The default is the JDK's
 * HttpURLConnection, which Android ships, so the SDK needs no HTTP library and this file runs in JVM unit tests
 * against a real server on 127.0.0.1. Tests swap in a fake transport for fault injection. Code outside the SDK can
 * neither build an [HttpRequest] (its constructor is internal) nor use the SDK's [UrlConnectionTransport] (internal):
 * the requests a transport is handed are the ones an adapter built from an ObfuscatedFace. A transport is the
 * caller's own code, though: one that sends something else does so by its own doing, not through the SDK.
 */
package ai.privategaze.sdk

import java.io.IOException
import java.io.InputStream
import java.net.ConnectException
import java.net.HttpURLConnection
import java.net.NoRouteToHostException
import java.net.SocketTimeoutException
import java.net.URL
import java.net.UnknownHostException
import javax.net.ssl.SSLException

/** An answer: status, the headers the client reads (lower-case names), and the body (truncated for errors). */
class HttpResponse(val status: Int, val headers: Map<String, String>, val body: ByteArray)

/** Sends one request; see [UrlConnectionTransport]. */
fun interface HttpTransport {
    /**
     * @param deadlineNs [System.nanoTime] by which the whole answer must have arrived.
     * @param maxBytes the largest successful body accepted; error bodies are cut at [ERROR_BODY_BYTES].
     * @throws RemoteException how it failed (connection, timeout, an oversized answer).
     */
    fun send(request: HttpRequest, connectTimeoutMs: Int, deadlineNs: Long, maxBytes: Int): HttpResponse

    companion object {
        /** Enough of an error page for the message. */
        const val ERROR_BODY_BYTES = 1024
    }
}

/**
 * [HttpTransport] over [HttpURLConnection]: no redirects (a 3xx cannot move the request to a host whose scheme was
 * not checked), no caches, and the deadline checked between body chunks so a trickled answer is cut off.
 */
internal class UrlConnectionTransport : HttpTransport {
    override fun send(request: HttpRequest, connectTimeoutMs: Int, deadlineNs: Long, maxBytes: Int): HttpResponse {
        val connection = URL(request.url).openConnection() as HttpURLConnection
        try {
            connection.instanceFollowRedirects = false
            connection.useCaches = false
            connection.connectTimeout = connectTimeoutMs
            connection.readTimeout = remainingMs(deadlineNs, request)
            connection.requestMethod = request.method
            request.headers.forEach { (name, value) -> connection.setRequestProperty(name, value) }
            connection.doOutput = true
            connection.setFixedLengthStreamingMode(request.body.size)
            connection.outputStream.use { it.write(request.body) }
            val status = connection.responseCode
            checkDeadline(deadlineNs, request)
            val ok = status in 200..299
            val stream = if (ok) connection.inputStream else connection.errorStream
            val body = stream?.use { read(it, if (ok) maxBytes else HttpTransport.ERROR_BODY_BYTES, ok, deadlineNs, request) }
            val headers = listOf("retry-after", "content-type").mapNotNull { name ->
                connection.getHeaderField(name)?.let { name to it }
            }.toMap()
            return HttpResponse(status, headers, body ?: ByteArray(0))
        } catch (e: RemoteException) {
            throw e
        } catch (e: SocketTimeoutException) {
            throw RemoteTimeoutException("no answer from ${where(request)} in time (${e.message})", cause = e)
        } catch (e: UnknownHostException) {
            throw RemoteConnectionException("could not reach ${where(request)} (unknown host ${e.message})", cause = e)
        } catch (e: ConnectException) {
            throw RemoteConnectionException("could not reach ${where(request)} (${e.message})", cause = e)
        } catch (e: NoRouteToHostException) {
            throw RemoteConnectionException("could not reach ${where(request)} (${e.message})", cause = e)
        } catch (e: SSLException) {
            throw RemoteConnectionException("TLS with ${where(request)} failed (${e.message})", cause = e)
        } catch (e: IOException) {
            throw RemoteConnectionException("the exchange with ${where(request)} failed (${e.javaClass.simpleName}: ${e.message})", cause = e)
        } finally {
            connection.disconnect()
        }
    }

    private fun read(stream: InputStream, limit: Int, ok: Boolean, deadlineNs: Long, request: HttpRequest): ByteArray {
        val out = java.io.ByteArrayOutputStream()
        val chunk = ByteArray(8192)
        while (true) {
            checkDeadline(deadlineNs, request)
            val n = stream.read(chunk)
            if (n < 0) break
            if (out.size() + n > limit) {
                if (ok) throw RemoteResponseException("the answer from ${where(request)} is over $limit bytes; a gaze is tiny")
                out.write(chunk, 0, limit - out.size())
                break
            }
            out.write(chunk, 0, n)
        }
        return out.toByteArray()
    }

    private fun remainingMs(deadlineNs: Long, request: HttpRequest): Int {
        checkDeadline(deadlineNs, request)
        return maxOf(1L, (deadlineNs - System.nanoTime()) / 1_000_000).toInt()
    }

    private fun checkDeadline(deadlineNs: Long, request: HttpRequest) {
        if (System.nanoTime() > deadlineNs) {
            throw RemoteTimeoutException("the answer from ${where(request)} did not complete within the timeout")
        }
    }

    private fun where(request: HttpRequest): String = request.url.substringBefore('?')
}
