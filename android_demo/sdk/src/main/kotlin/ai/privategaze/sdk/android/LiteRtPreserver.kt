/*
 * Opening an exported TFLite preserver on Android: read and verify the file and its sidecar (ModelArtefact), check
 * the manifest names a TFLite artefact, and hand the verified bytes to LiteRT.
 */
package ai.privategaze.sdk.android

import ai.privategaze.sdk.ConfigException
import ai.privategaze.sdk.ManifestException
import ai.privategaze.sdk.ModelArtefact
import ai.privategaze.sdk.Preserver
import java.io.File

/**
 * @property accelerator GPU with the XNNPACK fallback by default; see [Accelerator].
 * @property threads CPU threads for XNNPACK, or for what the GPU delegate leaves to the CPU.
 * @property requireSidecar refuse a model without its `<model>.tflite.json` sidecar (otherwise the sidecar is
 *   checked when present).
 */
data class PreserverOptions(
    val accelerator: Accelerator = Accelerator.AUTO,
    val threads: Int = 2,
    val requireSidecar: Boolean = false,
) {
    init {
        if (threads < 1) throw ConfigException("PreserverOptions.threads must be a positive integer, got $threads")
    }
}

object LiteRtPreserver {
    /**
     * Loads the preserver in [model] (a `.tflite` from `pgz-export --target tflite`). Blocking: call it off the
     * main thread, on the thread that will run it: LiteRT's GPU delegate (OpenGL backend) is bound to the thread
     * that created it.
     *
     * @throws ai.privategaze.sdk.ModelFileException the file is missing, unreadable, not loadable, or does not
     *   match its sidecar.
     * @throws ManifestException no embedded manifest, an unknown schema, or a manifest for another target.
     */
    fun open(model: File, options: PreserverOptions = PreserverOptions()): Preserver {
        val artefact = ModelArtefact.load(model, options.requireSidecar)
        val manifest = artefact.manifest
        if (manifest.target != "tflite") {
            throw ManifestException("${model.name} is a ${manifest.target} artefact; LiteRT runs tflite ones")
        }
        return Preserver(manifest, LiteRtEngine.create(artefact.bytes, options.accelerator, options.threads))
    }
}
