/*
 * Head pose from six 2-D landmarks: a port of the Perspective-n-Point solver in sdk_python/privategaze/geometry.py
 * (homography start, Levenberg-Marquardt on the reprojection error, and the mirrored pose tried as a second start),
 * step for step, so that the phone normalizes a face the way the Python SDK and the training data do.
 */
package ai.privategaze.sdk

import kotlin.math.atan2

/** A head pose: [rotation] maps head coordinates to camera coordinates, [translation] is in the model's units. */
data class HeadPose(val rotation: Mat3, val translation: Vec3)

/** The Perspective-n-Point solver (Python: `geometry.estimate_head_pose`). */
object HeadPoseSolver {
    /**
     * The head pose that projects [model] onto [landmarks] (pixels, same order) through [camera].
     *
     * @param distortion OpenCV coefficients (k1, k2, p1, p2[, k3]) of the camera, or null for an undistorted image.
     * @throws GeometryException malformed inputs, degenerate landmarks, or no pose in front of the camera.
     */
    fun estimate(
        landmarks: List<Point2>,
        model: List<Vec3>,
        camera: CameraIntrinsics,
        distortion: DoubleArray? = null,
    ): HeadPose {
        if (landmarks.size < 4 || model.size != landmarks.size) {
            throw GeometryException(
                "need N >= 4 landmarks and as many model points, got ${landmarks.size} and ${model.size}",
            )
        }
        if (landmarks.any { !it.isFinite() } || model.any { !it.isFinite() }) {
            throw GeometryException("landmarks and model points must be finite")
        }
        val image = undistort(landmarks, camera.matrix, distortion)
        var best = refine(poseFromHomography(image, model), model, image)
        // A flat-ish face seen from afar has two poses of nearly equal reprojection error, the face plane tilted one
        // way or mirrored across the line of sight; noise can trap the descent in the wrong one, so try both.
        val mirrored = refine(mirroredPose(best.pose, model), model, image)
        if (mirrored.cost < best.cost) best = mirrored
        if (!best.cost.isFinite()) {
            throw GeometryException("no head pose puts the face in front of the camera; check the landmark order")
        }
        return best.pose
    }

    private class Fit(val pose: HeadPose, val cost: Double)

    /** Pixels -> ideal normalized image coordinates, inverting OpenCV's (k1, k2, p1, p2[, k3]) model. */
    internal fun undistort(points: List<Point2>, camera: Mat3, distortion: DoubleArray?): List<Point2> {
        val inverse = camera.inverse()
        val distorted = points.map {
            val h = inverse * Vec3(it.x, it.y, 1.0)
            Point2(h.x / h.z, h.y / h.z)
        }
        if (distortion == null) return distorted
        if (distortion.size !in 4..5 || distortion.any { !it.isFinite() }) {
            throw GeometryException(
                "distortion must be 4 or 5 finite OpenCV coefficients (k1, k2, p1, p2[, k3]), got ${distortion.size}",
            )
        }
        val k1 = distortion[0]
        val k2 = distortion[1]
        val p1 = distortion[2]
        val p2 = distortion[3]
        val k3 = if (distortion.size == 5) distortion[4] else 0.0
        return distorted.map { d ->
            var x = d.x
            var y = d.y
            repeat(20) { // the fixed-point iteration of OpenCV's undistortPoints
                val r2 = x * x + y * y
                val radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
                val tx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
                val ty = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
                x = (d.x - tx) / radial
                y = (d.y - ty) / radial
            }
            Point2(x, y)
        }
    }

    /** Initial pose treating the model as planar (z = 0): H ~ [r1 r2 t] from a DLT. */
    private fun poseFromHomography(image: List<Point2>, model: List<Vec3>): HeadPose {
        val rows = ArrayList<DoubleArray>()
        for ((point, pixel) in model.zip(image)) {
            val (x, y) = point.x to point.y
            val (u, v) = pixel.x to pixel.y
            rows.add(doubleArrayOf(x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, -u))
            rows.add(doubleArrayOf(0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, -v))
        }
        val (_, v) = LinearAlgebra.svd(rows.toTypedArray())
        val h = Mat3(DoubleArray(9) { v[it][8] }) // the right singular vector of the smallest singular value
        var scale = 2.0 / (h.column(0).norm + h.column(1).norm)
        val (columnValues, _) = LinearAlgebra.svd(Array(3) { r -> doubleArrayOf(h[r, 0], h[r, 1]) })
        val rankDeficient = columnValues[1] <= columnValues[0] * 3 * EPSILON // numpy's matrix_rank tolerance
        if (!scale.isFinite() || rankDeficient) {
            throw GeometryException("the landmarks are degenerate (coincident or collinear); no head pose fits them")
        }
        if (h[2, 2] * scale < 0) scale = -scale // the face is in front of the camera
        val r1 = h.column(0) * scale
        val r2 = h.column(1) * scale
        val translation = h.column(2) * scale
        return HeadPose(LinearAlgebra.nearestRotation(Mat3.fromColumns(r1, r2, r1 cross r2)), translation)
    }

    private fun cost(pose: HeadPose, model: List<Vec3>, image: List<Point2>): Double {
        var sum = 0.0
        for ((point, pixel) in model.zip(image)) {
            val camera = pose.rotation * point + pose.translation
            if (camera.z <= 0) return Double.POSITIVE_INFINITY
            val dx = camera.x / camera.z - pixel.x
            val dy = camera.y / camera.z - pixel.y
            sum += dx * dx + dy * dy
        }
        return sum
    }

    /** Residuals (2N) and their Jacobian (2N x 6: rotation increment, then translation). */
    private fun residualsAndJacobian(
        pose: HeadPose,
        model: List<Vec3>,
        image: List<Point2>,
    ): Pair<DoubleArray, Array<DoubleArray>> {
        val residuals = DoubleArray(2 * model.size)
        val jacobian = Array(2 * model.size) { DoubleArray(6) }
        for ((i, point) in model.withIndex()) {
            val rotated = pose.rotation * point
            val camera = rotated + pose.translation
            val (x, y, z) = Triple(camera.x, camera.y, camera.z)
            residuals[2 * i] = x / z - image[i].x
            residuals[2 * i + 1] = y / z - image[i].y
            // A left increment exp([w]) R moves a point by w x (R X) = -[R X]_x w; a translation by dt.
            val minusSkew = arrayOf(
                doubleArrayOf(0.0, rotated.z, -rotated.y),
                doubleArrayOf(-rotated.z, 0.0, rotated.x),
                doubleArrayOf(rotated.y, -rotated.x, 0.0),
            )
            val dProjection = arrayOf(doubleArrayOf(1 / z, 0.0, -x / (z * z)), doubleArrayOf(0.0, 1 / z, -y / (z * z)))
            for (r in 0..1) for (c in 0..5) {
                var sum = 0.0
                for (k in 0..2) sum += dProjection[r][k] * (if (c < 3) minusSkew[k][c] else if (k == c - 3) 1.0 else 0.0)
                jacobian[2 * i + r][c] = sum
            }
        }
        return residuals to jacobian
    }

    /** Levenberg-Marquardt on the reprojection error, the rotation updated by a Rodrigues increment. */
    private fun refine(start: HeadPose, model: List<Vec3>, image: List<Point2>): Fit {
        var pose = start
        var cost = cost(pose, model, image)
        var damping = 1e-3
        for (iteration in 0 until 100) {
            if (!cost.isFinite()) break
            val (residuals, jacobian) = residualsAndJacobian(pose, model, image)
            val normal = Array(6) { r -> DoubleArray(6) { c -> jacobian.sumOf { it[r] * it[c] } } }
            val gradient = DoubleArray(6) { r -> jacobian.indices.sumOf { jacobian[it][r] * residuals[it] } }
            var step = DoubleArray(6)
            var candidate = pose
            var candidateCost = cost
            var improved = false
            while (damping < 1e12) {
                val damped = Array(6) { r -> DoubleArray(6) { c -> normal[r][c] + if (r == c) damping * (normal[r][r] + 1e-12) else 0.0 } }
                step = LinearAlgebra.solve(damped, DoubleArray(6) { -gradient[it] })
                candidate = HeadPose(
                    LinearAlgebra.rodrigues(Vec3(step[0], step[1], step[2])) * pose.rotation,
                    pose.translation + Vec3(step[3], step[4], step[5]),
                )
                candidateCost = cost(candidate, model, image)
                if (candidateCost < cost) {
                    improved = true
                    break
                }
                damping *= 10.0
            }
            if (!improved) break // no step lowers the cost: converged
            val stepNorm = kotlin.math.sqrt(step.sumOf { it * it })
            val converged = cost - candidateCost <= 1e-15 * maxOf(cost, 1e-30) || stepNorm < 1e-12
            pose = candidate
            cost = candidateCost
            damping = maxOf(damping / 10.0, 1e-9)
            if (converged) break
        }
        return Fit(pose, cost)
    }

    /** The pose whose face-plane normal (model z) is mirrored across the line of sight to the model's centroid. */
    private fun mirroredPose(pose: HeadPose, model: List<Vec3>): HeadPose {
        val mean = model.reduce { a, b -> a + b } * (1.0 / model.size)
        val centroid = pose.rotation * mean + pose.translation
        val normal = pose.rotation.column(2)
        val sight = centroid * (1 / centroid.norm)
        val axis = normal cross sight
        val sine = axis.norm
        if (sine < 1e-9) return pose
        val mirrored = LinearAlgebra.rodrigues(axis * (1 / sine * 2.0 * atan2(sine, normal dot sight))) * pose.rotation
        return HeadPose(mirrored, centroid - mirrored * mean)
    }

    private const val EPSILON = 2.220446049250313e-16 // numpy's float64 eps
}
