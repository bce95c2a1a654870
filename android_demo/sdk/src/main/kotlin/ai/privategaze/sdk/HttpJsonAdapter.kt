/*
 * A gaze API that takes the image base64-encoded inside a JSON body (Python: `adapters.http_json`). The defaults
 * speak pgz-serve's dialect, `POST {"image": "<base64 PNG>"}` answered by `{"gaze": {"pitch": rad, "yaw": rad}}`
 * (training/service/app.py); other APIs are described by the config, not coded.
 */
package ai.privategaze.sdk

import java.net.URI
import java.net.URISyntaxException
import java.util.Base64

/**
 * How to call a JSON gaze API.
 *
 * @property url the endpoint: https, or http to a loopback host (see [ClientConfig.allowInsecureHttp]).
 * @property method "POST" or "PUT".
 * @property imageField dotted path of the image in the request JSON ("inputs.face.data" nests objects).
 * @property imageFormat "base64" (bare) or "data-url" (`data:image/png;base64,...`).
 * @property extraFields other JSON fields sent with every request; must not hold [imageField].
 * @property headers extra request headers, e.g. an API key header.
 * @property bearerToken sent as `Authorization: Bearer <token>`.
 * @property response where the gaze is in the answer, and its units and signs.
 */
data class HttpJsonConfig(
    val url: String,
    val method: String = "POST",
    val imageField: String = "image",
    val imageFormat: String = "base64",
    val extraFields: Map<String, Any?> = emptyMap(),
    val headers: Map<String, String> = emptyMap(),
    val bearerToken: String? = null,
    val response: ResponseSpec = ResponseSpec(),
) {
    init {
        val parsed = try {
            URI(url)
        } catch (e: URISyntaxException) {
            null
        }
        if (parsed == null || parsed.scheme !in listOf("http", "https") || parsed.host.isNullOrEmpty()) {
            throw ConfigException(
                "HttpJsonConfig.url must be an absolute http(s) URL such as 'https://gaze.example.com/v1/gaze', got '$url'",
            )
        }
        if (method !in METHODS) throw ConfigException("HttpJsonConfig.method must be one of $METHODS, got '$method'")
        if (imageFormat !in IMAGE_FORMATS) {
            throw ConfigException("HttpJsonConfig.image_format must be one of $IMAGE_FORMATS, got '$imageFormat'")
        }
        if (imageField.isEmpty() || imageField.split(".").any { it.isEmpty() }) {
            throw ConfigException("HttpJsonConfig.image_field must be a dotted path such as 'image', got '$imageField'")
        }
        checkImageFieldFree()
        if (bearerToken != null && (bearerToken.isEmpty() || headers.keys.any { it.equals("authorization", true) })) {
            throw ConfigException("HttpJsonConfig: give a non-empty bearer_token or an Authorization header, not both")
        }
        val texts = headers.keys + headers.values + listOfNotNull(bearerToken)
        if (texts.any { text -> text.any { it.code > 127 || it == '\r' || it == '\n' } }) {
            throw ConfigException("HttpJsonConfig: header names, values and tokens must be ASCII without line breaks")
        }
        try {
            Json.write(extraFields)
        } catch (e: IllegalArgumentException) {
            throw ConfigException("HttpJsonConfig.extra_fields must be a JSON object: ${e.message}", e)
        }
    }

    private fun checkImageFieldFree() {
        var node: Any? = extraFields
        val parts = imageField.split(".")
        for (part in parts.dropLast(1)) {
            node = (node as Map<*, *>)[part] ?: return
            if (node !is Map<*, *>) {
                throw ConfigException("HttpJsonConfig.extra_fields has a non-object at '$part', where image_field '$imageField' goes")
            }
        }
        if ((node as Map<*, *>).containsKey(parts.last())) {
            throw ConfigException("HttpJsonConfig.extra_fields already has '$imageField', where the image goes")
        }
    }

    /** The URL without its query (it may hold a key), for messages. */
    val where: String
        get() = URI(url).let { "${it.scheme}://${it.rawAuthority}${it.rawPath ?: ""}" }

    // The token is left out so that logs and crash reports never carry it.
    override fun toString(): String = "HttpJsonConfig($method $where)"

    companion object {
        val METHODS = listOf("POST", "PUT")
        val IMAGE_FORMATS = listOf("base64", "data-url")
    }
}

/** One HTTP request, as the transport sends it; only the SDK's adapter builds one (from an ObfuscatedFace). */
class HttpRequest internal constructor(val method: String, val url: String, val headers: Map<String, String>, val body: ByteArray)

/** Builds the request for an obfuscated face and reads the gaze out of the answer. */
class HttpJsonAdapter(val config: HttpJsonConfig) {
    val endpoint: String
        get() = config.url

    /** The request carrying [face]: the only image this adapter can put on the wire. */
    fun buildRequest(face: ObfuscatedFace): HttpRequest {
        var payload = Base64.getEncoder().encodeToString(face.encodePng())
        if (config.imageFormat == "data-url") payload = "data:image/png;base64,$payload"
        val body = deepCopy(config.extraFields)
        val parts = config.imageField.split(".")
        var node = body
        for (part in parts.dropLast(1)) {
            @Suppress("UNCHECKED_CAST")
            node = node.getOrPut(part) { LinkedHashMap<String, Any?>() } as MutableMap<String, Any?>
        }
        node[parts.last()] = payload
        val headers = LinkedHashMap<String, String>()
        headers["Accept"] = "application/json"
        headers["Content-Type"] = "application/json"
        headers.putAll(config.headers)
        config.bearerToken?.let { headers["Authorization"] = "Bearer $it" }
        return HttpRequest(config.method, config.url, headers, Json.write(body).toByteArray(Charsets.UTF_8))
    }

    /** (pitch, yaw) radians from a successful answer's body. */
    fun parseResponse(body: ByteArray): PitchYaw = config.response.parse(body)

    override fun toString(): String = "HttpJsonAdapter(${config.method} ${config.where})"

    private fun deepCopy(map: Map<String, Any?>): MutableMap<String, Any?> {
        @Suppress("UNCHECKED_CAST")
        fun copy(value: Any?): Any? = when (value) {
            is Map<*, *> -> deepCopy(value as Map<String, Any?>)
            is List<*> -> value.map(::copy)
            else -> value
        }
        return LinkedHashMap<String, Any?>().also { out -> map.forEach { (k, v) -> out[k] = copy(v) } }
    }
}
