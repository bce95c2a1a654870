/*
 * Packing follows the manifest's layout, range and colour order; unpacking clips and rounds half to even as
 * numpy does, so phone and Python turn one model output into the same bytes.
 */
package ai.privategaze.sdk

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test

class TensorCodecTest {
    private fun spec(layout: String, range: Pair<Double, Double> = 0.0 to 1.0, color: String = "RGB", size: Int = 2) =
        TensorSpec("image", if (layout == "nhwc") listOf(1, size, size, 3) else listOf(1, 3, size, size), layout, "float32", range, color)

    private val image = RgbImage(2, 2, ByteArray(12) { (it * 20).toByte() }) // pixel p, channel c = 60 p + 20 c

    @Test
    fun nchwAndNhwcPlaceTheSameValues() {
        val nchw = TensorCodec(spec("nchw")).pack(image)
        val nhwc = TensorCodec(spec("nhwc")).pack(image)
        for (p in 0..3) for (c in 0..2) {
            val expected = (60 * p + 20 * c).toFloat() / 255f
            assertEquals(expected, nchw[c * 4 + p], 0f)
            assertEquals(expected, nhwc[p * 3 + c], 0f)
        }
        assertArrayEquals(image.toByteArray(), TensorCodec(spec("nchw")).unpack(nchw).toByteArray())
        assertArrayEquals(image.toByteArray(), TensorCodec(spec("nhwc")).unpack(nhwc).toByteArray())
    }

    @Test
    fun valueRangeAndColourOrderComeFromTheSpec() {
        val codec = TensorCodec(spec("nhwc", -1.0 to 1.0, "BGR"))
        val packed = codec.pack(image)
        assertEquals(-1f + 2f * (40f / 255f), packed[0], 1e-6f) // first value: the blue channel of pixel 0
        assertArrayEquals(image.toByteArray(), codec.unpack(packed).toByteArray())
    }

    @Test
    fun unpackClipsAndRoundsHalfToEven() {
        val codec = TensorCodec(spec("nhwc", size = 2))
        val values = FloatArray(12)
        values[0] = -0.5f
        values[1] = 1.5f
        values[2] = 0.5f / 255f // 0.5 -> 0
        values[3] = 1.5f / 255f // 1.5 -> 2
        values[4] = 2.5f / 255f // 2.5 -> 2
        val bytes = codec.unpack(values).toByteArray().map { it.toInt() and 0xff }
        assertEquals(listOf(0, 255, 0, 2, 2), bytes.take(5))
    }

    @Test
    fun refusesWhatItCannotRun() {
        assertFails<ManifestException>("float32 NCHW/NHWC") {
            TensorCodec(TensorSpec("image", listOf(1, 3, 2, 2), "image", "uint8", 0.0 to 255.0, "RGB"))
        }
        assertFails<ManifestException>("colour order") { TensorCodec(spec("nchw", color = "YUV")) }
        assertFails<ImageException>("takes a 2x2 normalized face") { TensorCodec(spec("nchw")).pack(RgbImage(3, 3, ByteArray(27))) }
        assertFails<PreserverException>("not finite") { TensorCodec(spec("nchw")).unpack(FloatArray(12) { Float.NaN }) }
        assertFails<PreserverException>("returned 5 values") { TensorCodec(spec("nchw")).unpack(FloatArray(5)) }
    }
}
