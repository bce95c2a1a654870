/*
 * Data normalization (Zhang, Sugano and Bulling, ETRA 2018, as ETH-XGaze implements it), ported from
 * sdk_python/privategaze/geometry.py and face.py: a virtual camera looks straight at the face centre from the
 * manifest's distance, with its x-axis along the head's; the frame is warped by K_norm S R_n K^-1 and the remote
 * gaze is rotated back by R_n^T. The virtual camera (focal, distance, size) and the face model always come from the
 * manifest.
 */
package ai.privategaze.sdk

import kotlin.math.abs
import kotlin.math.max

/** A point in pixels (x right, y down; pixel centres at integer coordinates, as in OpenCV). */
data class Point2(val x: Double, val y: Double) {
    fun isFinite(): Boolean = x.isFinite() && y.isFinite()
}

/**
 * The intrinsics K of the (undistorted) camera image the landmarks are in.
 *
 * @property source "given" for a calibrated matrix, "default" for [CameraIntrinsics.default]'s guess.
 */
class CameraIntrinsics private constructor(val matrix: Mat3, val source: String) {
    companion object {
        /**
         * Calibrated intrinsics [[fx, s, cx], [0, fy, cy], [0, 0, 1]].
         *
         * @throws GeometryException not finite, fx or fy not positive, or a last row other than (0, 0, 1).
         */
        fun of(matrix: Mat3): CameraIntrinsics {
            val lastRow = matrix.row(2)
            val lastRowOk = abs(lastRow.x) <= 1e-8 && abs(lastRow.y) <= 1e-8 && abs(lastRow.z - 1) <= 1e-8 + 1e-5
            if (!matrix.isFinite() || matrix[0, 0] <= 0 || matrix[1, 1] <= 0 || !lastRowOk) {
                throw GeometryException(
                    "camera_matrix must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0, got $matrix",
                )
            }
            return CameraIntrinsics(matrix, "given")
        }

        /**
         * What to assume when a camera's intrinsics are unknown (Python: `geometry.default_camera_matrix`): focal =
         * the longer image side, principal point centred. That is a ~53 degree field of view across the longer
         * side, typical of phone cameras; pose and normalization degrade gracefully when the guess is off.
         */
        fun default(width: Int, height: Int): CameraIntrinsics {
            if (width <= 0 || height <= 0) {
                throw GeometryException("width and height must be positive pixels, got $width x $height")
            }
            val focal = max(width, height).toDouble()
            val matrix = Mat3(doubleArrayOf(focal, 0.0, (width - 1) / 2.0, 0.0, focal, (height - 1) / 2.0, 0.0, 0.0, 1.0))
            return CameraIntrinsics(matrix, "default")
        }
    }
}

/**
 * One face's data normalization: how to warp its image and rotate its gaze into the virtual camera.
 *
 * @property warp homography from camera-image pixels to normalized-image pixels.
 * @property rotation R_n, from the camera frame to the normalized frame (rows: its x, y, z axes).
 * @property scale S = diag(1, 1, distance_mm / |face centre|).
 * @property cameraMatrixNorm intrinsics of the virtual camera.
 * @property headRotation the head rotation (head -> camera) it was computed from.
 * @property faceCenterMm the face centre in camera coordinates.
 */
class Normalization internal constructor(
    val warp: Mat3,
    val rotation: Mat3,
    val scale: Mat3,
    val cameraMatrixNorm: Mat3,
    val size: Int,
    val headRotation: Mat3,
    val faceCenterMm: Vec3,
) {
    /** Camera-frame gaze into the normalized frame. */
    fun gazeToNormalized(gaze: PitchYaw): PitchYaw = PitchYaw.fromVector(rotation * gaze.toVector())

    /** Normalized-frame gaze (what the remote estimator returns) back into the camera frame. */
    fun gazeToCamera(gaze: PitchYaw): PitchYaw = PitchYaw.fromVector(rotation.transpose() * gaze.toVector())

    /** Camera-image pixels to normalized-image pixels. */
    fun warpPoint(point: Point2): Point2 {
        val mapped = warp * Vec3(point.x, point.y, 1.0)
        return Point2(mapped.x / mapped.z, mapped.y / mapped.z)
    }

    /** The head rotation seen from the virtual camera, R_n R_head. */
    val headRotationNormalized: Mat3
        get() = rotation * headRotation
}

/** Builds [Normalization]s for the manifest's virtual camera (Python: `geometry.normalize_from_*`, `face`). */
object Normalizer {
    /**
     * The normalization of a face with head pose [headRotation] (head -> camera) centred at [faceCenterMm].
     *
     * @throws GeometryException a malformed rotation, a face behind the camera, or a head x-axis along the line of
     *   sight (no unique normalized roll).
     */
    fun fromPose(camera: CameraIntrinsics, headRotation: Mat3, faceCenterMm: Vec3, spec: NormalizationSpec): Normalization {
        val orthonormal = (headRotation * headRotation.transpose()).isClose(Mat3.IDENTITY, 1e-4)
        if (!headRotation.isFinite() || !orthonormal || headRotation.determinant() <= 0) {
            throw GeometryException("head_rotation must be a rotation matrix (orthonormal, det +1)")
        }
        if (!faceCenterMm.isFinite()) throw GeometryException("face_center_mm must be finite, got ${faceCenterMm.toList()}")
        if (faceCenterMm.z <= 0) {
            throw GeometryException(
                "the face centre must be in front of the camera (z > 0), got ${faceCenterMm.toList()} mm",
            )
        }
        val distance = faceCenterMm.norm
        val zAxis = faceCenterMm * (1 / distance)
        val headX = headRotation.column(0)
        var xAxis = headX - zAxis * (headX dot zAxis)
        if (xAxis.norm < 1e-6) {
            throw GeometryException("the head's x-axis is parallel to the line of sight; the normalized roll is undefined")
        }
        xAxis *= 1 / xAxis.norm
        val rotation = Mat3.fromRows(xAxis, zAxis cross xAxis, zAxis)
        val scale = Mat3.diagonal(1.0, 1.0, spec.distanceMm / distance)
        val half = spec.size / 2.0
        val cameraNorm = Mat3(doubleArrayOf(spec.focalPx, 0.0, half, 0.0, spec.focalPx, half, 0.0, 0.0, 1.0))
        val warp = cameraNorm * scale * rotation * camera.matrix.inverse()
        return Normalization(warp, rotation, scale, cameraNorm, spec.size, headRotation, faceCenterMm)
    }

    /**
     * The normalization of a face from its six landmarks: head pose by PnP against the manifest's [faceModel] (its
     * points matched to the landmarks by name), then [fromPose] at ETH-XGaze's face centre.
     */
    fun fromLandmarks(
        landmarks: SixLandmarks,
        camera: CameraIntrinsics,
        spec: NormalizationSpec,
        faceModel: FaceModel,
        distortion: DoubleArray? = null,
    ): Normalization {
        val points = landmarks.inOrderOf(faceModel.landmarks)
        val pose = HeadPoseSolver.estimate(points, faceModel.pointsMm, camera, distortion)
        // The model is centred on the face centre (Python: `face.FaceModel`), so the pose's translation is that centre.
        return fromPose(camera, pose.rotation, pose.translation, spec)
    }

    /**
     * The normalization of a face known only by its box (x0, y0, x1, y1): the head is assumed to face the camera,
     * its centre is the box centre, and its distance comes from the box width and [faceWidthMm] (the manifest's
     * [FaceModel.boxFaceWidthMm]). Expect a few degrees more error than [fromLandmarks] when the head turns.
     */
    fun fromBox(box: FaceBox, camera: CameraIntrinsics, spec: NormalizationSpec, faceWidthMm: Double): Normalization {
        if (!faceWidthMm.isFinite() || faceWidthMm <= 0) {
            throw GeometryException("face_width_mm must be a positive number, got $faceWidthMm")
        }
        // Pinhole model: a face of known width spanning (x1 - x0) pixels lies at depth f * width / pixels.
        val depth = camera.matrix[0, 0] * faceWidthMm / (box.x1 - box.x0)
        val ray = camera.matrix.inverse() * Vec3((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, 1.0)
        return fromPose(camera, Mat3.IDENTITY, ray * depth, spec)
    }
}

/** A face-detector box in pixels. @throws GeometryException not finite, or narrower or shorter than 2 px. */
data class FaceBox(val x0: Double, val y0: Double, val x1: Double, val y1: Double) {
    init {
        if (!(x0.isFinite() && y0.isFinite() && x1.isFinite() && y1.isFinite())) {
            throw GeometryException("box must be 4 finite numbers (x0, y0, x1, y1) in pixels, got $this")
        }
        if (x1 - x0 < 2 || y1 - y0 < 2) {
            throw GeometryException("box must have x1 > x0 and y1 > y0 (at least 2 px), got $this")
        }
    }
}
