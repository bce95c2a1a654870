/*
 * The six landmarks face normalization needs, by the names the manifest's face model gives them (Python:
 * `geometry.FACE_LANDMARKS_6PT`; the manifest's `face_model.landmarks` says in which order its points come), and how
 * to get them from the two face-landmark detectors an Android app is likely to use: MediaPipe Face Landmarker
 * (478-point Face Mesh) and ML Kit face detection (contours and landmarks). Both mappings are pure functions of the
 * detector's points, so they are unit-tested here; the ML Kit types are unwrapped in android/MlKitLandmarks.kt.
 */
package ai.privategaze.sdk

/**
 * Four eye corners and two mouth corners in camera-image pixels, by name ([NAMES]; "right" and "left" are the
 * subject's). The image must be the camera's own view: a mirrored preview swaps the subject's sides.
 */
class SixLandmarks(points: Map<String, Point2>) {
    val points: Map<String, Point2> = points.toMap()

    init {
        if (points.keys != NAMES || points.values.any { !it.isFinite() }) {
            throw GeometryException("six finite landmarks named ${NAMES.sorted()} are needed, got $points")
        }
    }

    /** The points in the order of [names]: a face model's landmarks, from the manifest. */
    fun inOrderOf(names: List<String>): List<Point2> = names.map {
        points[it] ?: throw GeometryException("the face model names landmark \"$it\"; the SDK knows ${NAMES.sorted()}")
    }

    companion object {
        /** MediaPipe Face Mesh index of each landmark (the Python SDK documents the same points in `face.py`). */
        val FACE_MESH_INDICES: Map<String, Int> = mapOf(
            "right_eye_outer" to 33,
            "right_eye_inner" to 133,
            "left_eye_inner" to 362,
            "left_eye_outer" to 263,
            "mouth_right" to 61,
            "mouth_left" to 291,
        )

        /** The landmark names, as pgz-export writes them into the manifest's `face_model.landmarks`. */
        val NAMES: Set<String> = FACE_MESH_INDICES.keys

        /**
         * From MediaPipe Face Landmarker's normalized landmarks ([xs], [ys] in 0..1 of the image it ran on, indexed
         * like the Face Mesh), scaled to pixels of a [width] x [height] image.
         */
        fun fromFaceMesh(xs: List<Float>, ys: List<Float>, width: Int, height: Int): SixLandmarks {
            val needed = FACE_MESH_INDICES.values.maxOrNull()!! + 1
            if (xs.size < needed || ys.size != xs.size) {
                throw GeometryException("a Face Mesh has at least $needed landmarks, got ${xs.size} x and ${ys.size} y")
            }
            return SixLandmarks(
                FACE_MESH_INDICES.mapValues { (_, i) -> Point2(xs[i].toDouble() * width, ys[i].toDouble() * height) },
            )
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
                mapOf(
                    "right_eye_outer" to rightEye.minByOrNull(::along)!!,
                    "right_eye_inner" to rightEye.maxByOrNull(::along)!!,
                    "left_eye_inner" to leftEye.minByOrNull(::along)!!,
                    "left_eye_outer" to leftEye.maxByOrNull(::along)!!,
                    "mouth_right" to mouthRight,
                    "mouth_left" to mouthLeft,
                ),
            )
        }

        private fun centroid(points: List<Point2>) =
            Point2(points.sumOf { it.x } / points.size, points.sumOf { it.y } / points.size)
    }
}
