/*
 * A minimal PNG writer (8-bit RGB, no filtering, zlib from java.util.zip): the lossless encoding the Python SDK sends
 * by default. Written here rather than through Android's Bitmap.compress so that the bytes that leave the device are
 * produced by code the JVM unit tests run and decode.
 */
package ai.privategaze.sdk

import java.io.ByteArrayOutputStream
import java.io.DataOutputStream
import java.util.zip.CRC32
import java.util.zip.Deflater

internal object PngEncoder {
    private val SIGNATURE = byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte(), 13, 10, 26, 10)

    fun encode(image: RgbImage): ByteArray {
        val header = ByteArrayOutputStream().also {
            DataOutputStream(it).apply {
                writeInt(image.width)
                writeInt(image.height)
                writeByte(8) // bit depth
                writeByte(2) // colour type: RGB
                writeByte(0) // compression: deflate
                writeByte(0) // filter method
                writeByte(0) // no interlace
            }
        }.toByteArray()
        val rowBytes = image.width * 3
        val raw = ByteArray((rowBytes + 1) * image.height)
        for (y in 0 until image.height) {
            raw[y * (rowBytes + 1)] = 0 // filter type None
            System.arraycopy(image.data, y * rowBytes, raw, y * (rowBytes + 1) + 1, rowBytes)
        }
        val out = ByteArrayOutputStream()
        out.write(SIGNATURE)
        chunk(out, "IHDR", header)
        chunk(out, "IDAT", deflate(raw))
        chunk(out, "IEND", ByteArray(0))
        return out.toByteArray()
    }

    private fun deflate(data: ByteArray): ByteArray {
        val deflater = Deflater(6)
        try {
            deflater.setInput(data)
            deflater.finish()
            val out = ByteArrayOutputStream()
            val buffer = ByteArray(1 shl 14)
            while (!deflater.finished()) out.write(buffer, 0, deflater.deflate(buffer))
            return out.toByteArray()
        } finally {
            deflater.end()
        }
    }

    private fun chunk(out: ByteArrayOutputStream, type: String, data: ByteArray) {
        val typeBytes = type.toByteArray(Charsets.US_ASCII)
        val crc = CRC32().apply {
            update(typeBytes)
            update(data)
        }
        DataOutputStream(out).apply {
            writeInt(data.size)
            write(typeBytes)
            write(data)
            writeInt(crc.value.toInt())
        }
    }
}
