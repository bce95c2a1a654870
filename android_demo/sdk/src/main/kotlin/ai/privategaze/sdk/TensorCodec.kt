/*
 * Pixels to the preserver's input tensor and its output tensor back to pixels, laid out as the manifest says
 * (Python: `Preserver._run`). Float arithmetic is float32 in the same order as numpy's, and rounding is half to
 * even like `np.round`, so a phone and the Python SDK turn the same model output into the same bytes.
 */
package ai.privategaze.sdk

/** Packs and unpacks one [TensorSpec]'s images (batch of one). */
class TensorCodec(val spec: TensorSpec) {
    private val low = spec.valueRange.first.toFloat()
    private val span = (spec.valueRange.second - spec.valueRange.first).toFloat()
    private val nchw = spec.layout == "nchw"
    private val channels = if (spec.color == "BGR") intArrayOf(2, 1, 0) else intArrayOf(0, 1, 2)

    init {
        if (spec.layout !in listOf("nchw", "nhwc") || spec.dtype != "float32") {
            throw ManifestException(
                "tensor \"${spec.name}\" is ${spec.layout} ${spec.dtype}; this SDK runs float32 NCHW/NHWC tensors " +
                    "(image-typed I/O is for Core ML on Apple devices)",
            )
        }
        val channelAxis = if (nchw) spec.shape[1] else spec.shape[3]
        val square = if (nchw) spec.shape[2] == spec.shape[3] else spec.shape[1] == spec.shape[2]
        if (spec.shape[0] != 1 || channelAxis != 3 || !square) {
            throw ManifestException("tensor \"${spec.name}\" must be one square 3-channel image, got ${spec.shape}")
        }
        if (spec.color !in listOf("RGB", "BGR")) {
            throw ManifestException("tensor \"${spec.name}\" has colour order \"${spec.color}\"; expected RGB or BGR")
        }
        if (!span.isFinite() || span <= 0f || !low.isFinite()) {
            throw ManifestException("tensor \"${spec.name}\" has an empty value range ${spec.valueRange}")
        }
    }

    private val size = spec.size

    /** [image] (exactly [TensorSpec.size] square) as the model's float input, pixel value p -> low + span * p / 255. */
    fun pack(image: RgbImage): FloatArray {
        if (image.width != size || image.height != size) {
            throw ImageException(
                "the preserver takes a ${size}x$size normalized face, got ${image.width}x${image.height}; " +
                    "normalize the frame with this model's manifest (Preserver.normalize)",
            )
        }
        val out = FloatArray(size * size * 3)
        val data = image.data
        for (y in 0 until size) for (x in 0 until size) {
            val pixel = (y * size + x) * 3
            for (c in 0..2) {
                val value = low + span * ((data[pixel + channels[c]].toInt() and 0xff).toFloat() / 255f)
                out[if (nchw) c * size * size + y * size + x else pixel + c] = value
            }
        }
        return out
    }

    /**
     * The model's float output as an image: mapped back to 0..1 by the value range, clipped, times 255, rounded
     * half to even.
     *
     * @throws PreserverException the output has the wrong length or a value that is not finite.
     */
    fun unpack(values: FloatArray): RgbImage {
        if (values.size != spec.elementCount) {
            throw PreserverException("the model returned ${values.size} values, expected ${spec.elementCount} (${spec.shape})")
        }
        if (values.any { !it.isFinite() }) {
            throw PreserverException("the model returned values that are not finite; the frame is dropped")
        }
        val bytes = ByteArray(size * size * 3)
        for (y in 0 until size) for (x in 0 until size) {
            val pixel = (y * size + x) * 3
            for (c in 0..2) {
                val value = values[if (nchw) c * size * size + y * size + x else pixel + c]
                val unit = ((value - low) / span).coerceIn(0f, 1f)
                bytes[pixel + channels[c]] = Math.rint((unit * 255f).toDouble()).toInt().toByte()
            }
        }
        return RgbImage(size, size, bytes)
    }
}
