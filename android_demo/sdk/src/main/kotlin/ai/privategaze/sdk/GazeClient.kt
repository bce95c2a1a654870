/*
 * The gaze client (Python: `client.GazeClient`): sends an ObfuscatedFace to a gaze API and returns its gaze, with
 * retries. Egress: [GazeClient.estimate] takes an ObfuscatedFace and nothing else, and only a Preserver makes one, so
 * a raw frame cannot reach the network through this SDK. Endpoints must be https; plain http only to a loopback host
 * (127.0.0.0/8, ::1, localhost; `adb reverse` makes the laptop's pgz-serve one) unless
 * [ClientConfig.allowInsecureHttp]. Blocking: call it off the main thread.
 */
package ai.privategaze.sdk

import java.net.InetAddress
import java.net.URI
import kotlin.random.Random

/**
 * Gaze for one frame.
 *
 * @property pitchYaw what the remote estimator returned, in the normalized camera frame, in this SDK's convention.
 * @property cameraPitchYaw the same gaze rotated back into the real camera's frame, when the frame's
 *   [Normalization] is known; null otherwise.
 * @property latencyMs from the first request to the parsed answer, retries included.
 * @property attempts requests made (1 when the first succeeded).
 */
data class GazeResult(
    val pitchYaw: PitchYaw,
    val cameraPitchYaw: PitchYaw?,
    val latencyMs: Double,
    val attempts: Int,
    val model: String,
    val timestampMs: Long?,
    val normalizationMethod: String?,
    val intrinsics: String?,
)

/**
 * @param sleep waits between attempts (seconds); injectable so tests need not wait.
 * @throws ConfigException the endpoint is plain http to a non-loopback host without [ClientConfig.allowInsecureHttp].
 */
class GazeClient(
    val adapter: HttpJsonAdapter,
    val config: ClientConfig = ClientConfig(),
    private val transport: HttpTransport = UrlConnectionTransport(),
    private val sleep: (Double) -> Unit = { Thread.sleep((it * 1000).toLong()) },
) {
    private val random = Random.Default
    private val where = adapter.config.where

    init {
        val uri = URI(adapter.endpoint)
        val secure = uri.scheme == "https"
        if (!secure && !(uri.scheme == "http" && (config.allowInsecureHttp || isLoopback(uri.host)))) {
            throw ConfigException(
                "refusing to send to $where: use https (plain http is allowed to loopback hosts only, or with " +
                    "ClientConfig(allowInsecureHttp = true) on a trusted network)",
            )
        }
    }

    /**
     * The gaze for one obfuscated face.
     *
     * @throws RemoteException a subclass saying how the API failed, with [RemoteException.attempts].
     */
    fun estimate(face: ObfuscatedFace): GazeResult {
        val started = System.nanoTime()
        var attempt = 1
        while (true) {
            try {
                val gaze = attemptOnce(face)
                val latencyMs = (System.nanoTime() - started) / 1e6
                return GazeResult(
                    gaze, face.normalization?.gazeToCamera(gaze), latencyMs, attempt, face.model, face.timestampMs,
                    face.normalizationMethod, face.intrinsics,
                )
            } catch (error: RemoteException) {
                sleep(retryDelay(error, attempt))
            }
            attempt++
        }
    }

    private fun attemptOnce(face: ObfuscatedFace): PitchYaw {
        val request = adapter.buildRequest(face)
        val deadline = System.nanoTime() + (config.timeoutS * 1e9).toLong()
        val connectMs = ((config.connectTimeoutS ?: config.timeoutS) * 1000).toInt().coerceAtLeast(1)
        val response = transport.send(request, connectMs, deadline, config.maxResponseBytes)
        if (response.status !in 200..299) {
            val snippet = String(response.body.copyOf(minOf(200, response.body.size)), Charsets.UTF_8)
            val message = "$where answered ${response.status}: '$snippet'"
            if (response.status == 429) {
                throw RemoteRateLimitException(message, retryAfterS = RetryPolicy.retryAfterS(response.headers["retry-after"]))
            }
            throw RemoteHttpException(message, response.status)
        }
        val gaze = adapter.parseResponse(response.body)
        if (!gaze.isFinite()) throw RemoteResponseException("$adapter returned $gaze, not a finite (pitch, yaw)")
        return gaze
    }

    /** Seconds to wait before the next attempt, or [error] thrown when there is none. */
    private fun retryDelay(error: RemoteException, attempt: Int): Double {
        error.attempts = attempt
        val policy = config.retry
        val retryAfter = (error as? RemoteRateLimitException)?.retryAfterS
        if (!policy.isRetryable(error)) throw error
        if (retryAfter != null && retryAfter > policy.maxRetryAfterS) {
            throw RemoteRateLimitException(
                "${error.message}; it asks to retry after ${"%.1f".format(retryAfter)} s, over " +
                    "RetryPolicy.maxRetryAfterS=${policy.maxRetryAfterS} s, so the call stops",
                attempt, retryAfter,
            )
        }
        if (attempt >= policy.maxAttempts) throw error
        return retryAfter ?: policy.backoffFor(attempt, random)
    }

    companion object {
        /** 127.0.0.0/8, ::1 (also IPv4-mapped), or "localhost"; a name is never resolved here. */
        fun isLoopback(host: String?): Boolean {
            if (host == null) return false
            val bare = host.removePrefix("[").removeSuffix("]").lowercase().trimEnd('.')
            if (bare == "localhost") return true
            val ipv4 = Regex("""(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})""").matchEntire(bare)
            if (ipv4 != null) return ipv4.groupValues.drop(1).all { it.toInt() <= 255 } && ipv4.groupValues[1] == "127"
            if (':' !in bare || !bare.all { it.isDigit() || it in 'a'..'f' || it == ':' || it == '.' }) return false
            return try {
                InetAddress.getByName(bare).isLoopbackAddress // an IPv6 literal: parsed, not looked up
            } catch (e: Exception) {
                false
            }
        }
    }
}
