/*
 * The egress rule in the type system (Python: `obfuscated.ObfuscatedImage`): GazeClient and HttpJsonAdapter accept
 * nothing but an ObfuscatedFace, and its constructor is internal to this SDK module, where only Preserver calls it.
 * App code therefore cannot wrap a raw frame in one: it does not compile. Like Python's private token, this guards
 * against mistakes, not against code that goes around Kotlin's visibility on purpose (reflection, or Java calling
 * the public-in-bytecode constructor). Its pixels are an immutable RgbImage, so the face cannot be edited back into
 * a raw frame after the preserver made it either.
 */
package ai.privategaze.sdk

/**
 * An obfuscated face made by a [Preserver], with what is needed to interpret the gaze the service returns for it.
 *
 * @property image the preserver's output, square, the manifest's size.
 * @property model name of the artefact that made it (the manifest's `name`).
 * @property blackbox the black box the preserver was trained for, from the manifest.
 * @property anchorSha256 the anchor face it imitates, from the manifest.
 * @property normalization the face normalization of the frame it came from, when the preserver normalized it; maps
 *   the remote gaze back to camera coordinates.
 * @property timestampMs the frame's timestamp, carried through for video.
 * @property normalizationMethod "landmarks", "box", "external" (a [Normalization] passed in) or null.
 * @property intrinsics "given" or "default" when the SDK normalized the frame, else null.
 */
class ObfuscatedFace internal constructor(
    val image: RgbImage,
    val model: String,
    val blackbox: String?,
    val anchorSha256: String?,
    val normalization: Normalization?,
    val timestampMs: Long?,
    val normalizationMethod: String?,
    val intrinsics: String?,
) {
    /** Side of the square image in pixels. */
    val size: Int
        get() = image.width

    /** The image as PNG bytes (lossless), the form the gaze API receives. */
    fun encodePng(): ByteArray = PngEncoder.encode(image)

    override fun toString(): String = "ObfuscatedFace(${size}x$size, model=$model, timestampMs=$timestampMs)"
}
