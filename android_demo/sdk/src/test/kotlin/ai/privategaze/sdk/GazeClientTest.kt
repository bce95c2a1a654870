/*
 * The gaze client against a real HTTP server on 127.0.0.1 answering in pgz-serve's shape (golden gaze_response.json
 * from the service's own response model), and against a fake transport for the failure paths.
 */
package ai.privategaze.sdk

import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.util.Base64
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class GazeClientTest {
    private val manifest = Manifest.parse(Golden.text("embedded.tflite.json"))
    private val answer = Golden.bytes("gaze_response.json")
    private val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    private val received = mutableListOf<Map<String, Any?>>()
    private val contentTypes = mutableListOf<String?>()

    private class IdentityEngine(override val inputShape: List<Int>) : InferenceEngine {
        override val name = "identity"
        override fun run(input: FloatArray) = input.copyOf()
        override fun close() = Unit
    }

    private val face: ObfuscatedFace = Preserver(manifest, IdentityEngine(manifest.input.shape))
        .obfuscate(RgbImage(32, 32, ByteArray(32 * 32 * 3) { (it % 251).toByte() }))

    init {
        server.createContext("/v1/gaze") { exchange ->
            @Suppress("UNCHECKED_CAST")
            received.add(Json.parse(String(exchange.requestBody.readBytes(), Charsets.UTF_8)) as Map<String, Any?>)
            contentTypes.add(exchange.requestHeaders.getFirst("Content-Type"))
            exchange.sendResponseHeaders(200, answer.size.toLong())
            exchange.responseBody.use { it.write(answer) }
        }
        server.start()
    }

    @After
    fun stop() {
        runCatching { server.stop(0) } // one test stops it early
    }

    private val url get() = "http://127.0.0.1:${server.address.port}/v1/gaze"

    @Test
    fun sendsTheObfuscatedPngAndReadsPgzServesAnswer() {
        val client = GazeClient(HttpJsonAdapter(HttpJsonConfig(url)))
        val result = client.estimate(face)
        assertEquals(PitchYaw(0.125, -0.25), result.pitchYaw)
        assertNull(result.cameraPitchYaw) // the face was normalized elsewhere and no Normalization was passed
        assertEquals(1, result.attempts)
        assertEquals(manifest.name, result.model)
        assertEquals(listOf("application/json"), contentTypes)
        val png = Base64.getDecoder().decode(received.single()["image"] as String)
        val decoded = javax.imageio.ImageIO.read(java.io.ByteArrayInputStream(png))
        assertEquals(face.image.argb(5, 9), decoded.getRGB(5, 9))
        assertEquals(setOf("image"), received.single().keys)
    }

    @Test
    fun nestedFieldsDataUrlsAndExtras() {
        val config = HttpJsonConfig(url, imageField = "inputs.face", imageFormat = "data-url", extraFields = mapOf("model" to "x", "inputs" to mapOf("k" to 1)))
        GazeClient(HttpJsonAdapter(config)).estimate(face)
        val inputs = received.single()["inputs"].obj()
        assertTrue((inputs["face"] as String).startsWith("data:image/png;base64,"))
        assertEquals(1.0, inputs["k"])
        assertEquals("x", received.single()["model"])
        assertFails<ConfigException>("already has 'inputs.face'") {
            HttpJsonConfig(url, imageField = "inputs.face", extraFields = mapOf("inputs" to mapOf("face" to 1)))
        }
    }

    @Test
    fun plainHttpOnlyToLoopbackUnlessAllowed() {
        assertFails<ConfigException>("use https") { GazeClient(HttpJsonAdapter(HttpJsonConfig("http://10.0.2.2:8080/v1/gaze"))) }
        GazeClient(HttpJsonAdapter(HttpJsonConfig("http://10.0.2.2:8080/v1/gaze")), ClientConfig(allowInsecureHttp = true))
        GazeClient(HttpJsonAdapter(HttpJsonConfig("https://gaze.example.com/v1/gaze")))
        for (host in listOf("localhost", "127.0.0.1", "127.9.8.7", "[::1]", "::ffff:127.0.0.1")) assertTrue(host, GazeClient.isLoopback(host))
        for (host in listOf("10.0.2.2", "192.168.1.20", "localhost.example.com", "128.0.0.1", "::2", null)) assertFalse("$host", GazeClient.isLoopback(host))
        assertFails<ConfigException>("absolute http(s) URL") { HttpJsonConfig("ftp://x/y") }
        assertFalse(HttpJsonConfig(url, bearerToken = "secret").toString().contains("secret"))
    }

    private fun scripted(vararg responses: () -> HttpResponse): Pair<HttpTransport, MutableList<Double>> {
        val queue = ArrayDeque(responses.toList())
        return HttpTransport { _, _, _, _ -> queue.removeFirst()() } to mutableListOf()
    }

    private val ok = { HttpResponse(200, emptyMap(), answer) }

    @Test
    fun retriesTransientFailuresWithBackoff() {
        val (transport, sleeps) = scripted(
            { throw RemoteConnectionException("refused") }, { HttpResponse(503, emptyMap(), "busy".toByteArray()) }, ok,
        )
        val client = GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), ClientConfig(), transport) { sleeps.add(it) }
        assertEquals(3, client.estimate(face).attempts)
        assertEquals(2, sleeps.size)
        assertTrue(sleeps[0] in 0.18..0.2 && sleeps[1] in 0.36..0.4)
    }

    @Test
    fun errorsThatWouldFailAgainAreNotRetried() {
        val (notFound, sleeps) = scripted({ HttpResponse(404, emptyMap(), "no such route".toByteArray()) })
        val error = assertFails<RemoteHttpException>("answered 404: 'no such route'") {
            GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), ClientConfig(), notFound) { sleeps.add(it) }.estimate(face)
        }
        assertEquals(404, error.statusCode)
        assertEquals(1, error.attempts)
        assertTrue(sleeps.isEmpty())
        val (garbage, _) = scripted({ HttpResponse(200, emptyMap(), "<html>".toByteArray()) })
        assertFails<RemoteResponseException>("not JSON") {
            GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), ClientConfig(), garbage) {}.estimate(face)
        }
    }

    @Test
    fun rateLimitsHonourRetryAfterUpToTheCap() {
        val (polite, sleeps) = scripted({ HttpResponse(429, mapOf("retry-after" to "1.5"), ByteArray(0)) }, ok)
        GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), ClientConfig(), polite) { sleeps.add(it) }.estimate(face)
        assertEquals(listOf(1.5), sleeps)
        val (greedy, _) = scripted({ HttpResponse(429, mapOf("retry-after" to "60"), ByteArray(0)) })
        val error = assertFails<RemoteRateLimitException>("over RetryPolicy.maxRetryAfterS") {
            GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), ClientConfig(), greedy) {}.estimate(face)
        }
        assertEquals(60.0, error.retryAfterS!!, 0.0)
    }

    @Test
    fun givesUpAfterMaxAttemptsWithTheCount() {
        val (down, sleeps) = scripted(*Array(3) { { throw RemoteTimeoutException("slow") } })
        val error = assertFails<RemoteTimeoutException>("slow") {
            GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), ClientConfig(), down) { sleeps.add(it) }.estimate(face)
        }
        assertEquals(3, error.attempts)
        assertEquals(2, sleeps.size)
    }

    @Test
    fun aRefusedConnectionIsAConnectionError() {
        server.stop(0)
        val config = ClientConfig(timeoutS = 2.0, retry = RetryPolicy(maxAttempts = 1))
        assertFails<RemoteConnectionException>("could not reach") { GazeClient(HttpJsonAdapter(HttpJsonConfig(url)), config).estimate(face) }
    }
}
