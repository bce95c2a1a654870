/*
 * The preserver on the device (Python: `preserver.Preserver`): normalizes a camera frame with the manifest's virtual
 * camera, runs the exported model, and wraps its output in the only type the gaze client sends. The inference
 * engine is internal to the SDK (LiteRT in android/LiteRtEngine.kt, a fake in the unit tests), so app code cannot
 * plug in an "engine" that returns the raw face and so mint an ObfuscatedFace.
 */
package ai.privategaze.sdk

import java.io.Closeable

/** What runs the model: one float input tensor in, one float output tensor out (batch of one). */
internal interface InferenceEngine : Closeable {
    /** Short name for logs and results, e.g. "litert-gpu" or "litert-xnnpack". */
    val name: String

    /** The input shape the runtime reports, checked against the manifest. */
    val inputShape: List<Int>

    /** @throws Exception on any runtime failure; [Preserver] turns it into a [PreserverException]. */
    fun run(input: FloatArray): FloatArray
}

/** A face normalized by the SDK: the pixels the preserver takes, and the normalization that made them. */
class NormalizedFace internal constructor(
    val image: RgbImage,
    val normalization: Normalization,
    val method: String,
    val intrinsics: String,
)

/**
 * A loaded, verified preserver. Open one with `LiteRtPreserver.open` (android/); calls are serialized, since a
 * LiteRT interpreter is not thread-safe: use one Preserver per thread for parallel throughput.
 *
 * @property manifest the manifest embedded in the model.
 * @property backend which engine runs it.
 */
class Preserver internal constructor(
    val manifest: Manifest,
    private val engine: InferenceEngine,
) : Closeable {
    private val inputCodec = TensorCodec(manifest.input)
    private val outputCodec = TensorCodec(manifest.output)
    private val lock = Any()

    init {
        val reported = engine.inputShape
        if (reported.isNotEmpty() && reported != manifest.input.shape) {
            engine.close()
            throw ManifestException("the model's input shape $reported contradicts its manifest's ${manifest.input.shape}")
        }
        if (manifest.output.size != manifest.input.size) {
            engine.close()
            throw ManifestException("the output image (${manifest.output.size} px) differs from the input (${manifest.input.size} px)")
        }
    }

    val backend: String
        get() = engine.name

    /** Side of the square normalized face the model takes. */
    val size: Int
        get() = manifest.input.size

    /** Normalizes the face with six [landmarks] in [frame] (see [Normalizer.fromLandmarks]). */
    fun normalize(
        frame: RgbImage,
        landmarks: SixLandmarks,
        camera: CameraIntrinsics = CameraIntrinsics.default(frame.width, frame.height),
        distortion: DoubleArray? = null,
    ): NormalizedFace {
        val normalization =
            Normalizer.fromLandmarks(landmarks, camera, manifest.normalization, manifest.faceModel, distortion)
        return NormalizedFace(ImageWarp.normalizedFace(frame, normalization), normalization, "landmarks", camera.source)
    }

    /** Normalizes the face in [box] of [frame], assuming a frontal head (see [Normalizer.fromBox]). */
    fun normalize(
        frame: RgbImage,
        box: FaceBox,
        camera: CameraIntrinsics = CameraIntrinsics.default(frame.width, frame.height),
    ): NormalizedFace {
        val normalization = Normalizer.fromBox(box, camera, manifest.normalization, manifest.faceModel.boxFaceWidthMm)
        return NormalizedFace(ImageWarp.normalizedFace(frame, normalization), normalization, "box", camera.source)
    }

    /** Obfuscates a face the SDK normalized; the result carries its normalization. */
    fun obfuscate(face: NormalizedFace, timestampMs: Long? = null): ObfuscatedFace =
        wrap(run(face.image), face.normalization, timestampMs, face.method, face.intrinsics)

    /**
     * Obfuscates a face normalized elsewhere (exactly [size] square); pass its [normalization] to get camera-frame
     * gaze back.
     *
     * @throws ImageException the face is not [size] x [size].
     * @throws PreserverException the runtime failed or returned non-finite values; nothing is produced.
     */
    fun obfuscate(face: RgbImage, normalization: Normalization? = null, timestampMs: Long? = null): ObfuscatedFace =
        wrap(run(face), normalization, timestampMs, if (normalization != null) "external" else null, null)

    /** Normalizes the face in [frame] from its [landmarks], then obfuscates it. */
    fun obfuscateFrame(
        frame: RgbImage,
        landmarks: SixLandmarks,
        camera: CameraIntrinsics = CameraIntrinsics.default(frame.width, frame.height),
        timestampMs: Long? = null,
    ): ObfuscatedFace = obfuscate(normalize(frame, landmarks, camera), timestampMs)

    private fun run(face: RgbImage): RgbImage {
        val input = inputCodec.pack(face)
        val output = try {
            synchronized(lock) { engine.run(input) }
        } catch (e: PrivateGazeException) {
            throw e
        } catch (e: Exception) {
            throw PreserverException("${manifest.name} failed on ${engine.name}: ${e.message}; the frame is dropped", e)
        }
        return outputCodec.unpack(output)
    }

    private fun wrap(
        image: RgbImage,
        normalization: Normalization?,
        timestampMs: Long?,
        method: String?,
        intrinsics: String?,
    ) = ObfuscatedFace(
        image, manifest.name, manifest.blackbox, manifest.anchorSha256, normalization, timestampMs, method, intrinsics,
    )

    override fun close() = engine.close()
}
