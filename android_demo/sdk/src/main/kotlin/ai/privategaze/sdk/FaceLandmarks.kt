/*
 * The six landmarks face normalization needs (Python: `geometry.FACE_MODEL_6PT` order), and how to get them from the
 * two face-landmark detectors an Android app is likely to use: MediaPipe Face Landmarker (478-point Face Mesh) and
 * ML Kit face detection (contours and landmarks). Both mappings are pure functions of the detector's points, so they
 * are unit-tested here; the ML Kit types are unwrapped in android/MlKitLandmarks.kt.
 */
package ai.privategaze.sdk

/**
 * Four eye corners and two mouth corners in camera-image pixels, in this order: the subject's right eye outer and
 * inner corner, left eye inner and outer corner, right and left mouth corner (for a frontal face in an unmirrored
 * image, left to right). The image must be the camera's own view: a mirrored preview swaps the subject's sides.
 */
class SixLandmarks(points: List<Point2>) {
    val points: List<Point2> = points.toList()

    init {
        if (points.size != 6 || points.any { !it.isFinite() }) {
            throw GeometryException("six finite landmarks are needed (eye corners, mouth corners), got $points")
        }
    }

    companion object {
        /**
         * MediaPipe Face Mesh indices of the six points, in [SixLandmarks] order (the Python SDK documents the
         * same: 33, 133, 362, 263, 61, 291).
         */
        val FACE_MESH_INDICES = listOf(33, 133, 362, 263, 61, 291)

        /**
         * From MediaPipe Face Landmarker's normalized landmarks ([xs], [ys] in 0..1 of the image it ran on, indexed
         * like the Face Mesh), scaled to pixels of a [width] x [height] image.
         */
        fun fromFaceMesh(xs: List<Float>, ys: List<Float>, width: Int, height: Int): SixLandmarks {
            val needed = FACE_MESH_INDICES.maxOrNull()!! + 1
            if (xs.size < needed || ys.size != xs.size) {
                throw GeometryException("a Face Mesh has at least $needed landmarks, got ${xs.size} x and ${ys.size} y")
            }
            return SixLandmarks(FACE_MESH_INDICES.map { Point2(xs[it].toDouble() * width, ys[it].toDouble() * height) })
        }

        /**
         * From ML Kit: the eye contours (FaceContour.RIGHT_EYE and LEFT_EYE, the subject's eyes, 16 points each)
         * and the mouth-corner landmarks (FaceLandmark.MOUTH_RIGHT and MOUTH_LEFT). ML Kit has no eye-corner
         * landmarks, so each eye's corners are its contour's two extreme points along the line between the eyes:
         * the point furthest towards the other eye is the inner corner. That needs no assumption about where ML Kit
         * starts a contour.
         */
        fun fromEyeContours(rightEye: List<Point2>, leftEye: List<Point2>, mouthRight: Point2, mouthLeft: Point2): SixLandmarks {
            if (rightEye.size < 2 || leftEye.size < 2) {
                throw GeometryException("each eye contour needs points, got ${rightEye.size} and ${leftEye.size}")
            }
            val rightCenter = centroid(rightEye)
            val leftCenter = centroid(leftEye)
            val axisX = leftCenter.x - rightCenter.x
            val axisY = leftCenter.y - rightCenter.y
            if (axisX * axisX + axisY * axisY < 1e-12) {
                throw GeometryException("the two eye contours coincide; no eye corners can be told apart")
            }
            fun along(p: Point2) = p.x * axisX + p.y * axisY // grows from the right eye towards the left eye
            return SixLandmarks(
                listOf(
                    rightEye.minByOrNull(::along)!!, rightEye.maxByOrNull(::along)!!,
                    leftEye.minByOrNull(::along)!!, leftEye.maxByOrNull(::along)!!,
                    mouthRight, mouthLeft,
                ),
            )
        }

        private fun centroid(points: List<Point2>) =
            Point2(points.sumOf { it.x } / points.size, points.sumOf { it.y } / points.size)
    }
}
