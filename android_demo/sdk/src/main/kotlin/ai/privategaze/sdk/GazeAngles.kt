/*
 * Gaze angles and directions, in the convention of sdk_python/privategaze/geometry.py (ETH-XGaze, MPIIFaceGaze):
 * camera frame x right, y down, z forward; a gaze vector points from the face to the target,
 * g = (-cos p sin y, -sin p, -cos p cos y). Looking into the camera is (0, 0); looking up is a positive pitch; a
 * positive yaw points towards image-left.
 */
package ai.privategaze.sdk

import kotlin.math.asin
import kotlin.math.atan2
import kotlin.math.cos
import kotlin.math.sin

/** A gaze or head direction as (pitch, yaw) in radians. */
data class PitchYaw(val pitchRad: Double, val yawRad: Double) {
    /** The unit direction vector of these angles. */
    fun toVector(): Vec3 =
        Vec3(-cos(pitchRad) * sin(yawRad), -sin(pitchRad), -cos(pitchRad) * cos(yawRad))

    fun isFinite(): Boolean = pitchRad.isFinite() && yawRad.isFinite()

    companion object {
        /**
         * The angles of a direction [vector] of any non-zero length.
         *
         * @throws GeometryException the vector is zero or not finite: it has no direction.
         */
        fun fromVector(vector: Vec3): PitchYaw {
            val norm = vector.norm
            if (!norm.isFinite() || norm <= 0) {
                throw GeometryException("a zero or non-finite vector has no direction, got ${vector.toList()}")
            }
            val unit = vector * (1 / norm)
            return PitchYaw(asin((-unit.y).coerceIn(-1.0, 1.0)), atan2(-unit.x, -unit.z))
        }
    }
}
