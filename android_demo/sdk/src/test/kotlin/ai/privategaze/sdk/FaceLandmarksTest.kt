package ai.privategaze.sdk

import org.junit.Assert.assertEquals
import org.junit.Test

class FaceLandmarksTest {
    @Test
    fun faceMeshIndicesPickTheSixNamedPoints() {
        val xs = List(478) { it / 1000f }
        val ys = List(478) { it / 2000f }
        val six = SixLandmarks.fromFaceMesh(xs, ys, width = 1000, height = 2000)
        val order = Golden.manifest.faceModel.landmarks
        assertEquals(listOf(33.0, 133.0, 362.0, 263.0, 61.0, 291.0), six.inOrderOf(order).map { Math.rint(it.x) })
        assertEquals(six.inOrderOf(order).map { Math.rint(it.x) }, six.inOrderOf(order).map { Math.rint(it.y) })
        assertFails<GeometryException>("at least 363 landmarks") { SixLandmarks.fromFaceMesh(xs.take(100), ys.take(100), 10, 10) }
    }

    @Test
    fun eyeContourCornersAreTheExtremesAlongTheEyeLine() {
        // A frontal face in an unmirrored image: the subject's right eye is image-left. Contours start anywhere.
        fun eye(cx: Double, cy: Double, start: Int) = (0 until 16).map {
            val angle = 2 * Math.PI * ((it + start) % 16) / 16
            Point2(cx + 15 * Math.cos(angle), cy + 6 * Math.sin(angle))
        }
        val six = SixLandmarks.fromEyeContours(eye(280.0, 200.0, 3), eye(360.0, 202.0, 11), Point2(290.0, 300.0), Point2(350.0, 300.0))
        val eyeCorners = listOf("right_eye_outer", "right_eye_inner", "left_eye_inner", "left_eye_outer")
        assertEquals(listOf(265.0, 295.0, 345.0, 375.0), six.inOrderOf(eyeCorners).map { Math.rint(it.x) })
        assertEquals(Point2(290.0, 300.0), six.points["mouth_right"])
        assertFails<GeometryException>("coincide") {
            SixLandmarks.fromEyeContours(eye(0.0, 0.0, 0), eye(0.0, 0.0, 0), Point2(0.0, 1.0), Point2(1.0, 1.0))
        }
    }
}
