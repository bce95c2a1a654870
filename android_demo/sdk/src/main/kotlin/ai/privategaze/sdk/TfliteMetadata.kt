/*
 * The manifest pgz-export embeds in a TFLite model, read straight out of the flatbuffer so that neither the SDK nor
 * the benchmark screen needs LiteRT's metadata library. Pure Kotlin (java.nio only): it runs in JVM unit tests on
 * the exporter's own output (src/test/resources/golden/embedded.tflite).
 */
package ai.privategaze.sdk

import java.nio.ByteBuffer
import java.nio.ByteOrder

/** Walks a TFLite flatbuffer (LiteRT's schema.fbs) to the `privategaze.manifest` metadata entry. */
object TfliteMetadata {
    /** The flatbuffer file identifier of TFLite models, at bytes 4 to 8. */
    const val IDENTIFIER = "TFL3"

    // Field indices in LiteRT's schema.fbs: Model.buffers = 4, Model.metadata = 6; Metadata.name = 0,
    // Metadata.buffer = 1; Buffer.data = 0, Buffer.offset = 1, Buffer.size = 2.
    private const val MODEL_BUFFERS = 4
    private const val MODEL_METADATA = 6
    private const val METADATA_NAME = 0
    private const val METADATA_BUFFER = 1
    private const val BUFFER_DATA = 0
    private const val BUFFER_OFFSET = 1
    private const val BUFFER_SIZE = 2

    /** True when [bytes] carry the TFLite file identifier. */
    fun isTflite(bytes: ByteArray): Boolean =
        bytes.size >= 8 && String(bytes, 4, 4, Charsets.US_ASCII) == IDENTIFIER

    /**
     * The text of the metadata entry named [key] (by default the manifest), or null when the model has none.
     *
     * The entry is Model.metadata[name == key].buffer, an index into Model.buffers. Models over 2 GB keep buffers
     * after the flatbuffer, located by Buffer.offset and Buffer.size; both cases are read.
     *
     * @throws ManifestException [bytes] are not a TFLite model, or the flatbuffer is truncated or corrupt.
     */
    fun entry(bytes: ByteArray, key: String = Manifest.KEY): String? {
        if (!isTflite(bytes)) {
            throw ManifestException("not a TFLite model: expected \"$IDENTIFIER\" at bytes 4-8")
        }
        return try {
            find(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN), bytes, key)
        } catch (e: IndexOutOfBoundsException) {
            throw ManifestException("not a readable TFLite model: the flatbuffer is truncated or corrupt", e)
        }
    }

    private fun find(buffer: ByteBuffer, bytes: ByteArray, key: String): String? {
        val model = buffer.getInt(0)
        val buffers = vector(buffer, model, MODEL_BUFFERS) ?: return null
        val metadata = vector(buffer, model, MODEL_METADATA) ?: return null
        for (i in 0 until buffer.getInt(metadata)) {
            val entry = table(buffer, metadata + 4 + 4 * i)
            val name = vector(buffer, entry, METADATA_NAME)?.let {
                String(bytes, it + 4, buffer.getInt(it), Charsets.UTF_8)
            }
            if (name != key) continue
            val index = field(buffer, entry, METADATA_BUFFER)?.let { buffer.getInt(it) } ?: return null
            val data = table(buffer, buffers + 4 + 4 * index)
            val inline = vector(buffer, data, BUFFER_DATA)
            if (inline != null && buffer.getInt(inline) > 0) {
                return String(bytes, inline + 4, buffer.getInt(inline), Charsets.UTF_8)
            }
            val offset = field(buffer, data, BUFFER_OFFSET)?.let { buffer.getLong(it) } ?: return null
            val size = field(buffer, data, BUFFER_SIZE)?.let { buffer.getLong(it) } ?: return null
            if (offset < 0 || size < 0 || offset + size > bytes.size) throw IndexOutOfBoundsException()
            return String(bytes, offset.toInt(), size.toInt(), Charsets.UTF_8)
        }
        return null
    }

    private fun table(buffer: ByteBuffer, position: Int): Int = position + buffer.getInt(position)

    /** Where field [index] of the table at [table] lies, or null when the table leaves it out. */
    private fun field(buffer: ByteBuffer, table: Int, index: Int): Int? {
        val vtable = table - buffer.getInt(table)
        val entry = 4 + 2 * index
        if (entry >= (buffer.getShort(vtable).toInt() and 0xffff)) return null
        val offset = buffer.getShort(vtable + entry).toInt() and 0xffff
        return if (offset == 0) null else table + offset
    }

    /** The position of a vector's (or string's) length word, for a vector field of a table. */
    private fun vector(buffer: ByteBuffer, table: Int, index: Int): Int? =
        field(buffer, table, index)?.let { it + buffer.getInt(it) }
}
