/*
 * The preserver on LiteRT's Interpreter: the GPU delegate when the device supports it, XNNPACK on the CPU otherwise.
 * That GPU -> XNNPACK step is the SDK's one documented fallback: it is logged, and Preserver.backend says which
 * engine runs ("litert-gpu" or "litert-xnnpack"), so a slow frame rate can be traced to it. Asking for the GPU
 * explicitly (Accelerator.GPU) turns the fallback off and makes an unsupported device an error.
 *
 * LiteRT (com.google.ai.edge.litert:litert, litert-gpu, litert-gpu-api) keeps the org.tensorflow.lite package names.
 */
package ai.privategaze.sdk.android

import ai.privategaze.sdk.InferenceEngine
import ai.privategaze.sdk.ModelFileException
import android.util.Log
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate

/** Which LiteRT engine runs the preserver. */
enum class Accelerator {
    /** The GPU delegate when CompatibilityList supports the device and it loads the model; XNNPACK otherwise. */
    AUTO,

    /** The GPU delegate or an error: no fallback. */
    GPU,

    /** XNNPACK on the CPU. */
    XNNPACK,
}

internal class LiteRtEngine private constructor(
    private val interpreter: Interpreter,
    private val gpu: GpuDelegate?,
) : InferenceEngine {
    override val name: String = if (gpu != null) "litert-gpu" else "litert-xnnpack"
    override val inputShape: List<Int> = interpreter.getInputTensor(0).shape().toList()
    private val input = directBuffer(interpreter.getInputTensor(0).numBytes())
    private val output = directBuffer(interpreter.getOutputTensor(0).numBytes())
    private val outputValues = FloatArray(interpreter.getOutputTensor(0).numElements())

    override fun run(input: FloatArray): FloatArray {
        this.input.rewind()
        this.input.asFloatBuffer().put(input)
        output.rewind()
        interpreter.run(this.input, output)
        output.rewind()
        output.asFloatBuffer().get(outputValues)
        return outputValues.copyOf()
    }

    override fun close() {
        interpreter.close()
        gpu?.close()
    }

    companion object {
        private const val TAG = "PrivateGaze"

        /**
         * An engine for the verified model [bytes] (the bytes that were hashed are the bytes that run).
         *
         * @throws ModelFileException LiteRT cannot load the model, or [Accelerator.GPU] was asked on a device
         *   whose GPU delegate cannot run it.
         */
        fun create(bytes: ByteArray, accelerator: Accelerator, threads: Int): LiteRtEngine {
            val model = directBuffer(bytes.size).put(bytes).also { it.rewind() }
            if (accelerator != Accelerator.XNNPACK) {
                // A missing or broken GPU delegate often shows up as an Error, not an Exception: NoClassDefFoundError
                // when litert-gpu is not packaged, UnsatisfiedLinkError when its native library does not load. Both
                // are LinkageErrors, and both must lead to the fallback rather than out of it.
                val reason = try {
                    return gpuEngine(model, threads)
                } catch (e: Exception) {
                    describe(e)
                } catch (e: LinkageError) {
                    describe(e)
                }
                if (accelerator == Accelerator.GPU) throw ModelFileException("the GPU delegate cannot run this model: $reason")
                Log.w(TAG, "GPU delegate unavailable ($reason); running the preserver on XNNPACK")
            }
            val options = Interpreter.Options().setNumThreads(threads).setUseXNNPACK(true)
            return try {
                LiteRtEngine(Interpreter(model, options), null)
            } catch (e: Exception) {
                throw ModelFileException("LiteRT cannot load the model: ${e.message}", e)
            } catch (e: LinkageError) { // LiteRT's native library is missing or does not load on this device
                throw ModelFileException("LiteRT cannot run on this device: ${describe(e)}", e)
            }
        }

        private fun gpuEngine(model: ByteBuffer, threads: Int): LiteRtEngine {
            val compatibility = CompatibilityList()
            try {
                check(compatibility.isDelegateSupportedOnThisDevice) { "the GPU delegate does not support this device" }
                val delegate = GpuDelegate(compatibility.bestOptionsForThisDevice)
                try {
                    // Threads for the operations the delegate leaves to the CPU.
                    val options = Interpreter.Options().setNumThreads(threads).addDelegate(delegate)
                    return LiteRtEngine(Interpreter(model, options), delegate)
                } catch (e: Throwable) { // rethrown: create() decides whether to fall back
                    delegate.close()
                    throw e
                }
            } finally {
                compatibility.close()
            }
        }

        private fun describe(e: Throwable): String =
            e.message?.let { "${e.javaClass.simpleName}: $it" } ?: e.javaClass.simpleName

        private fun directBuffer(bytes: Int): ByteBuffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder())
    }
}
