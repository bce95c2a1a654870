/*
 * An 8-bit RGB image, row-major and interleaved: the (H, W, 3) uint8 array of the Python SDK. Immutable, so an
 * obfuscated face cannot be edited back into a raw frame after the preserver made it. Android Bitmaps convert to and
 * from it in android/BitmapImages.kt.
 */
package ai.privategaze.sdk

/** An immutable [width] x [height] RGB image, 3 bytes a pixel, rows top to bottom. */
class RgbImage(val width: Int, val height: Int, pixels: ByteArray) {
    internal val data: ByteArray = pixels.copyOf()

    init {
        if (width <= 0 || height <= 0 || pixels.size != width * height * 3) {
            throw ImageException(
                "an RGB image of $width x $height needs ${width.toLong() * height * 3} bytes, got ${pixels.size}",
            )
        }
    }

    /** Channel [channel] (0 red, 1 green, 2 blue) of pixel ([x], [y]), 0 to 255. */
    operator fun get(x: Int, y: Int, channel: Int): Int = data[(y * width + x) * 3 + channel].toInt() and 0xff

    /** The pixel at ([x], [y]) as 0xAARRGGBB with full alpha, what Android's Bitmap.setPixels takes. */
    fun argb(x: Int, y: Int): Int {
        val i = (y * width + x) * 3
        return (0xff shl 24) or ((data[i].toInt() and 0xff) shl 16) or ((data[i + 1].toInt() and 0xff) shl 8) or
            (data[i + 2].toInt() and 0xff)
    }

    /** A copy of the bytes (RGB, row-major). */
    fun toByteArray(): ByteArray = data.copyOf()

    override fun toString(): String = "RgbImage(${width}x$height)"

    companion object {
        /** From 0xAARRGGBB pixels (Android's Bitmap.getPixels); alpha is dropped. */
        fun fromArgb(width: Int, height: Int, argb: IntArray): RgbImage {
            if (argb.size != width * height) {
                throw ImageException("$width x $height pixels expected, got ${argb.size}")
            }
            val bytes = ByteArray(argb.size * 3)
            for (i in argb.indices) {
                bytes[3 * i] = (argb[i] shr 16).toByte()
                bytes[3 * i + 1] = (argb[i] shr 8).toByte()
                bytes[3 * i + 2] = argb[i].toByte()
            }
            return RgbImage(width, height, bytes)
        }
    }
}
