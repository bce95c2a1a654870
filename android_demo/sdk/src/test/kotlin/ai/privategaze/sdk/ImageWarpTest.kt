/*
 * The face warp against Pillow's, through the Python SDK (golden warp_case): the same frame and normalization give
 * the same normalized face, up to a grey level where float rounding moves a sample across a truncation boundary.
 */
package ai.privategaze.sdk

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class ImageWarpTest {
    private val case = Golden.geometry["warp_case"].obj()
    private val width = (case["width"] as Double).toInt()
    private val height = (case["height"] as Double).toInt()
    private val frame = case["frame_rgb_base64"].rgb(width, height)

    @Test
    fun warpedFaceMatchesPillow() {
        val expected = case["normalization"].obj()
        val spec = Golden.geometry["spec"].obj()
        val normalization = Normalization(
            expected["warp"].mat3(), expected["rotation"].mat3(), expected["scale_matrix"].mat3(),
            expected["camera_matrix_norm"].mat3(), (spec["size"] as Double).toInt(), expected["head_rotation"].mat3(),
            expected["face_center_mm"].vec3(),
        )
        val face = ImageWarp.normalizedFace(frame, normalization)
        val python = case["face_rgb_base64"].rgb(face.width, face.height)
        var differing = 0
        for (y in 0 until face.height) for (x in 0 until face.width) for (c in 0..2) {
            val difference = Math.abs(face[x, y, c] - python[x, y, c])
            assertTrue("pixel ($x, $y, $c) differs by $difference", difference <= 1)
            if (difference > 0) differing++
        }
        assertTrue("$differing of ${face.width * face.height * 3} samples differ by one level", differing * 100 <= face.width * face.height * 3)
    }

    @Test
    fun landmarksToFaceEndToEnd() {
        val spec = Golden.geometry["spec"].obj().let {
            NormalizationSpec(it["focal_px"] as Double, it["distance_mm"] as Double, (it["size"] as Double).toInt())
        }
        val camera = CameraIntrinsics.default(width, height)
        val normalization = Normalizer.fromLandmarks(case["landmarks"].landmarks(), camera, spec, Golden.manifest.faceModel)
        val face = ImageWarp.normalizedFace(frame, normalization)
        val python = case["face_rgb_base64"].rgb(face.width, face.height)
        val worst = (0 until face.width * face.height * 3).maxOf { i ->
            Math.abs(face[i / 3 % face.width, i / 3 / face.width, i % 3] - python[i / 3 % face.width, i / 3 / face.width, i % 3])
        }
        assertTrue("worst sample differs by $worst", worst <= 1)
    }

    @Test
    fun outsideTheFrameIsBlack() {
        val shifted = ImageWarp.perspective(frame, 8, doubleArrayOf(1.0, 0.0, 1000.0, 0.0, 1.0, 0.0, 0.0, 0.0))
        assertEquals(0, (0 until 8).sumOf { shifted[it, it, 0] + shifted[it, it, 1] + shifted[it, it, 2] })
    }
}
