/*
 * Where a gaze API's JSON answer keeps the gaze, in which units and signs, and its validation (Python:
 * `adapters.response.ResponseSpec`). Every gaze the client returns went through [ResponseSpec.gaze], so a
 * non-finite, zero-length or out-of-range answer is a RemoteResponseException whatever the service.
 */
package ai.privategaze.sdk

import kotlin.math.PI
import kotlin.math.abs

/**
 * Give either [pitchPath] and [yawPath], or [vectorPath]. Paths are dotted keys into the answer, list indices
 * allowed ("results.0.gaze.pitch"). The defaults read the reference service's `{"gaze": {"pitch": rad, "yaw": rad}}`.
 *
 * @property vectorSigns per-axis signs (each +1 or -1) mapping the API's vector axes onto this SDK's.
 * @property units "rad" or "deg" for the angle paths; a vector has no units, so it must stay "rad".
 * @property flipPitch negate pitch, for APIs whose "up" is negative.
 * @property flipYaw negate yaw, for APIs whose positive yaw points to image-right.
 */
data class ResponseSpec(
    val pitchPath: String? = null,
    val yawPath: String? = null,
    val vectorPath: String? = null,
    val vectorSigns: List<Double> = listOf(1.0, 1.0, 1.0),
    val units: String = "rad",
    val flipPitch: Boolean = false,
    val flipYaw: Boolean = false,
) {
    init {
        if (vectorPath != null) {
            checkPath(vectorPath, "vector_path")
            if (pitchPath != null || yawPath != null) {
                throw ConfigException("ResponseSpec takes either vector_path or pitch_path and yaw_path, not both")
            }
            if (units != "rad") {
                throw ConfigException("ResponseSpec.units applies to angles, not to a vector; leave it 'rad', got '$units'")
            }
        } else {
            checkPath(pitchPath ?: DEFAULT_PITCH, "pitch_path")
            checkPath(yawPath ?: DEFAULT_YAW, "yaw_path")
        }
        if (vectorSigns.size != 3 || vectorSigns.any { it != 1.0 && it != -1.0 }) {
            throw ConfigException("ResponseSpec.vector_signs must be three values each +1 or -1, got $vectorSigns")
        }
        if (units !in UNITS) throw ConfigException("ResponseSpec.units must be one of $UNITS, got '$units'")
    }

    /**
     * (pitch, yaw) radians in this SDK's convention from a JSON answer.
     *
     * @throws RemoteResponseException the body is not JSON, a path is missing, or the gaze is not a direction.
     */
    fun parse(body: ByteArray): PitchYaw {
        val data = try {
            Json.parse(String(body, Charsets.UTF_8))
        } catch (e: IllegalArgumentException) {
            throw RemoteResponseException("the gaze API's answer is not JSON (${e.message}): ${snippet(body)}", cause = e)
        }
        if (vectorPath != null) return gaze(vector = lookup(data, vectorPath))
        return gaze(pitch = lookup(data, pitchPath ?: DEFAULT_PITCH), yaw = lookup(data, yawPath ?: DEFAULT_YAW))
    }

    /** The gaze from the API's angle values or vector (parsed JSON values). */
    fun gaze(pitch: Any? = null, yaw: Any? = null, vector: Any? = null): PitchYaw {
        var angles = if (vector != null) {
            val values = numbers(vector, "gaze vector")
            if (values.size != 3) throw RemoteResponseException("the gaze vector must have 3 components, got ${values.size}")
            try {
                PitchYaw.fromVector(Vec3(values[0] * vectorSigns[0], values[1] * vectorSigns[1], values[2] * vectorSigns[2]))
            } catch (e: GeometryException) {
                throw RemoteResponseException("the gaze vector $values has no direction: ${e.message}")
            }
        } else {
            val p = numbers(pitch, "pitch").singleOrNull() ?: throw RemoteResponseException("the gaze pitch must be one number")
            val y = numbers(yaw, "yaw").singleOrNull() ?: throw RemoteResponseException("the gaze yaw must be one number")
            if (units == "deg") PitchYaw(Math.toRadians(p), Math.toRadians(y)) else PitchYaw(p, y)
        }
        angles = PitchYaw(
            if (flipPitch) -angles.pitchRad else angles.pitchRad,
            if (flipYaw) -angles.yawRad else angles.yawRad,
        )
        if (abs(angles.pitchRad) > MAX_ABS_ANGLE_RAD || abs(angles.yawRad) > MAX_ABS_ANGLE_RAD) {
            throw RemoteResponseException(
                "the gaze (pitch, yaw) = (${angles.pitchRad}, ${angles.yawRad}) rad is beyond +-pi; check " +
                    "ResponseSpec.units (now '$units')",
            )
        }
        return angles
    }

    companion object {
        const val DEFAULT_PITCH = "gaze.pitch"
        const val DEFAULT_YAW = "gaze.yaw"
        val UNITS = listOf("rad", "deg")

        /** |pitch| and |yaw| beyond pi are no direction in any convention: degrees sent as radians, or garbage. */
        const val MAX_ABS_ANGLE_RAD = PI

        private fun checkPath(path: String, name: String) {
            if (path.isEmpty() || path.split(".").any { it.isEmpty() }) {
                throw ConfigException(
                    "ResponseSpec.$name must be a dotted path such as 'gaze.pitch' or 'results.0.gaze', got '$path'",
                )
            }
        }

        /**
         * The value at a dotted [path] (keys, or list indices such as `results.0`) in parsed JSON.
         *
         * @throws RemoteResponseException a step of the path is not in the answer.
         */
        fun lookup(data: Any?, path: String): Any? {
            var value = data
            val parts = path.split(".")
            for ((depth, part) in parts.withIndex()) {
                val index = part.toIntOrNull()
                value = when {
                    value is Map<*, *> && value.containsKey(part) -> value[part]
                    value is List<*> && index != null && index >= -value.size && index < value.size ->
                        value[if (index < 0) value.size + index else index]
                    else -> {
                        val where = parts.take(depth).joinToString(".").ifEmpty { "the top level" }
                        val found = if (value is Map<*, *>) value.keys.map { it.toString() }.sorted().take(10).toString()
                        else JsonFields.describe(value)
                        throw RemoteResponseException(
                            "the gaze API's answer has no '$path': no '$part' at $where (found $found); check the " +
                                "adapter's ResponseSpec paths",
                        )
                    }
                }
            }
            return value
        }

        private fun numbers(value: Any?, name: String): List<Double> {
            val items = if (value is List<*>) value else listOf(value)
            if (items.isEmpty() || items.any { it !is Double }) {
                throw RemoteResponseException("the gaze $name must be a number or a list of numbers, got ${JsonFields.describe(value)}")
            }
            return items.map { it as Double }
        }

        private fun snippet(body: ByteArray, limit: Int = 120): String {
            val text = String(body.copyOf(minOf(body.size, limit)), Charsets.UTF_8)
            return "'" + text + (if (body.size > limit) "..." else "") + "'"
        }
    }
}
