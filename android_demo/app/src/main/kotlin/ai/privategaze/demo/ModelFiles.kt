/*
 * The exported preserver ships in the APK's assets (app/src/main/assets/models/, copied there from pgz-export) and
 * is copied to the app's files folder before use: LiteRT, the SDK's verification and the benchmark all take a file,
 * and the sidecar must lie beside the model to be checked.
 */
package ai.privategaze.demo

import ai.privategaze.sdk.ModelArtefact
import android.content.Context
import java.io.File
import java.io.FileNotFoundException

object ModelFiles {
    const val ASSET_DIR = "models"

    /** The `.tflite` models in the assets, sorted. */
    fun available(context: Context): List<String> =
        context.assets.list(ASSET_DIR).orEmpty().filter { it.endsWith(".tflite") }.sorted()

    /**
     * The first model (or [name]) copied, with its sidecar when the assets have one, to `files/models/`.
     *
     * @throws FileNotFoundException the assets hold no model, or not the one named. (The SDK's ModelFileException
     *   cannot be thrown here: its constructor is internal to the SDK.)
     */
    fun install(context: Context, name: String? = null): File {
        val models = available(context)
        val chosen = name ?: models.firstOrNull()
            ?: throw FileNotFoundException(
                "no .tflite model in the app's assets/$ASSET_DIR: export one with pgz-export --target tflite and " +
                    "copy it and its .tflite.json in (android_demo/README.md)",
            )
        if (chosen !in models) throw FileNotFoundException("no model $chosen in assets/$ASSET_DIR (found $models)")
        val target = File(File(context.filesDir, ASSET_DIR), chosen)
        target.parentFile?.mkdirs()
        copy(context, "$ASSET_DIR/$chosen", target)
        val sidecar = ModelArtefact.sidecarFile(target)
        try {
            copy(context, "$ASSET_DIR/${sidecar.name}", sidecar)
        } catch (e: FileNotFoundException) {
            sidecar.delete() // a stale sidecar of an earlier model must not vouch for this one
        }
        return target
    }

    // Always copied: a reinstalled APK may carry a new model under the same name, and a model is a few hundred kB.
    private fun copy(context: Context, asset: String, target: File) {
        context.assets.open(asset).use { input -> target.outputStream().use { input.copyTo(it) } }
    }
}
