/*
 * The preserver around a fake engine (the LiteRT engine needs a device): it checks the engine against the
 * manifest, turns engine failures into PreserverException, and is the one maker of ObfuscatedFace.
 */
package ai.privategaze.sdk

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Test

class PreserverTest {
    private val manifest = ModelArtefact.verify("embedded.tflite", Golden.bytes("embedded.tflite"), Golden.text("embedded.tflite.json")).manifest

    /** Inverts the image: a visible, checkable "obfuscation". */
    private class InvertingEngine(override val inputShape: List<Int>, val fail: Boolean = false) : InferenceEngine {
        override val name = "fake"
        var closed = false

        override fun run(input: FloatArray): FloatArray {
            if (fail) throw IllegalStateException("delegate lost")
            return FloatArray(input.size) { 1f - input[it] }
        }

        override fun close() {
            closed = true
        }
    }

    @Test
    fun obfuscatesAFrameFromLandmarksWithTheManifestsGeometry() {
        val case = Golden.geometry["warp_case"].obj()
        val width = (case["width"] as Double).toInt()
        val height = (case["height"] as Double).toInt()
        val preserver = Preserver(manifest, InvertingEngine(manifest.input.shape))
        val face = preserver.obfuscateFrame(case["frame_rgb_base64"].rgb(width, height), case["landmarks"].landmarks(), timestampMs = 7)
        assertEquals(32, face.size)
        assertEquals(manifest.name, face.model)
        assertEquals("blackbox-small_cnn", face.blackbox)
        assertEquals("landmarks", face.normalizationMethod)
        assertEquals("default", face.intrinsics)
        assertEquals(7L, face.timestampMs)
        assertNotNull(face.normalization)
        val normalized = preserver.normalize(case["frame_rgb_base64"].rgb(width, height), case["landmarks"].landmarks())
        val inverted = normalized.image.toByteArray().map { (255 - (it.toInt() and 0xff)).toByte() }.toByteArray()
        assertArrayEquals(inverted, face.image.toByteArray())
    }

    @Test
    fun aFailingEngineDropsTheFrame() {
        val preserver = Preserver(manifest, InvertingEngine(manifest.input.shape, fail = true))
        assertFails<PreserverException>("delegate lost") { preserver.obfuscate(RgbImage(32, 32, ByteArray(32 * 32 * 3))) }
        assertFails<ImageException>("takes a 32x32") { preserver.obfuscate(RgbImage(48, 48, ByteArray(48 * 48 * 3))) }
    }

    @Test
    fun anEngineThatContradictsTheManifestIsRefusedAndClosed() {
        val engine = InvertingEngine(listOf(1, 3, 48, 48))
        assertFails<ManifestException>("contradicts its manifest") { Preserver(manifest, engine) }
        assertEquals(true, engine.closed)
    }

    @Test
    fun obfuscatedFacesEncodeAsLosslessPng() {
        val preserver = Preserver(manifest, InvertingEngine(manifest.input.shape))
        val pixels = ByteArray(32 * 32 * 3) { (it * 7).toByte() }
        val face = preserver.obfuscate(RgbImage(32, 32, pixels))
        val decoded = javax.imageio.ImageIO.read(java.io.ByteArrayInputStream(face.encodePng()))
        for (y in 0 until 32) for (x in 0 until 32) {
            val argb = decoded.getRGB(x, y)
            assertEquals(face.image.argb(x, y), argb)
        }
    }
}
