/*
 * Loading checks, before anything runs (Python: the checks in `Preserver.__init__`): the model's bytes are read once,
 * so the bytes that were hashed are the bytes that are loaded; when the sidecar is there its sha256 must match them
 * and its manifest must be the embedded one, so a tampered or swapped model is refused.
 */
package ai.privategaze.sdk

import java.io.File
import java.io.IOException
import java.security.MessageDigest

/**
 * A model file's bytes, verified, with the manifest embedded in them.
 *
 * @property manifest the embedded manifest (the sidecar only vouches for it).
 * @property sidecarChecked whether a sidecar was present and matched.
 */
class ModelArtefact private constructor(
    val fileName: String,
    val bytes: ByteArray,
    val sha256: String,
    val manifest: Manifest,
    val sidecarChecked: Boolean,
) {
    companion object {
        /**
         * Verifies the model [bytes] (named [fileName] in messages) against the text of its sidecar, if any.
         *
         * @param requireSidecar make a missing sidecar an error too (Python: `verify_sidecar="required"`).
         * @throws ModelFileException the bytes are empty, or do not match the sidecar's sha256.
         * @throws ManifestException no embedded manifest, an unknown schema, or an embedded manifest that differs
         *   from the sidecar's.
         */
        fun verify(fileName: String, bytes: ByteArray, sidecarText: String?, requireSidecar: Boolean = false): ModelArtefact {
            if (bytes.isEmpty()) throw ModelFileException("the model file $fileName is empty (0 bytes)")
            val sha256 = sha256Hex(bytes)
            var sidecar: Manifest? = null
            if (sidecarText == null) {
                if (requireSidecar) throw ModelFileException("no sidecar $fileName.json next to $fileName")
            } else {
                sidecar = Manifest.parse(sidecarText)
                val expected = sidecar.document["sha256"]
                if (expected != sha256) {
                    throw ModelFileException(
                        "$fileName does not match its sidecar: sha256 ${sha256.take(12)}... but the sidecar says " +
                            "${expected.toString().take(12)}...; the model file was modified or replaced",
                    )
                }
            }
            val embedded = TfliteMetadata.entry(bytes)
                ?: throw ManifestException(
                    "$fileName has no \"${Manifest.KEY}\" metadata entry: was it exported by pgz-export --target tflite?",
                )
            val manifest = Manifest.parse(embedded)
            if (sidecar != null && sidecar.embeddedPart != manifest.embeddedPart) {
                throw ManifestException("the manifest embedded in $fileName differs from its sidecar: a swapped model?")
            }
            return ModelArtefact(fileName, bytes, sha256, manifest, sidecar != null)
        }

        /**
         * Reads [model] and its sidecar `<model>.json` (when present) and [verify]s them.
         *
         * @throws ModelFileException the file is missing or unreadable, or see [verify].
         */
        fun load(model: File, requireSidecar: Boolean = false): ModelArtefact {
            val sidecar = sidecarFile(model)
            return verify(model.name, readFile(model, "model file"), sidecar.takeIf { it.isFile }?.let {
                String(readFile(it, "sidecar manifest"), Charsets.UTF_8)
            }, requireSidecar)
        }

        /**
         * The manifest text describing [model]: its sidecar if there is one, otherwise the manifest embedded in it.
         * For readers that only need figures (the benchmark screen); running a model goes through [load].
         */
        fun manifestText(model: File): String {
            val sidecar = sidecarFile(model)
            if (sidecar.isFile) return String(readFile(sidecar, "sidecar manifest"), Charsets.UTF_8)
            return TfliteMetadata.entry(readFile(model, "model file"))
                ?: throw ManifestException(
                    "${model.name} has neither a sidecar ${sidecar.name} nor an embedded \"${Manifest.KEY}\" entry",
                )
        }

        /** `model.tflite` -> `model.tflite.json` (Python: `manifest.sidecar_path`). */
        fun sidecarFile(model: File): File = File(model.path + ".json")

        /** Lower-case hex sha256, what the sidecar's `sha256` holds. */
        fun sha256Hex(bytes: ByteArray): String =
            MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

        private fun readFile(file: File, what: String): ByteArray = try {
            file.readBytes()
        } catch (e: IOException) {
            throw ModelFileException("cannot read the $what ${file.path}: ${e.message}", e)
        }
    }
}
