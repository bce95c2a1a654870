/*
 * The manifest as pgz-export writes it (golden sidecar and model made by the exporter's own code): parsed under the
 * exporter's field names, the schema checked, the sidecar verified against the bytes, the embedded copy found.
 */
package ai.privategaze.sdk

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assume.assumeTrue
import org.junit.Test

class ManifestTest {
    private val sidecar = Golden.text("embedded.tflite.json")
    private val model = Golden.bytes("embedded.tflite")

    @Test
    fun readsEveryFieldTheSdkNeedsFromTheExportersSidecar() {
        val manifest = Manifest.parse(sidecar)
        assertEquals("mobile-w4-32px-for-blackbox-small_cnn.fp32", manifest.name)
        assertEquals("tflite", manifest.target)
        assertEquals("fp32", manifest.precision)
        assertEquals(listOf(1, 3, 32, 32), manifest.input.shape)
        assertEquals("nchw", manifest.input.layout)
        assertEquals("float32", manifest.input.dtype)
        assertEquals(0.0 to 1.0, manifest.input.valueRange)
        assertEquals("RGB", manifest.input.color)
        assertEquals("image", manifest.input.name)
        assertEquals("obfuscated", manifest.output.name)
        assertEquals(32, manifest.input.size)
        assertEquals(NormalizationSpec(960.0 * 32 / 224, 600.0, 32), manifest.normalization)
        assertEquals("blackbox-small_cnn", manifest.blackbox)
        assertEquals(64, manifest.anchorSha256!!.length)
        assertEquals(model.size.toDouble(), manifest.document["size_bytes"])
    }

    @Test
    fun nhwcSizeComesFromTheSecondDimension() {
        val manifest = Manifest.parse(Golden.text("manifest-nhwc.json"))
        assertEquals("nhwc", manifest.input.layout)
        assertEquals(listOf(1, 32, 32, 3), manifest.input.shape)
        assertEquals(32, manifest.input.size)
    }

    @Test
    fun anUnknownSchemaIsRefused() {
        val next = sidecar.replace(Manifest.SCHEMA, "privategaze.manifest/2")
        assertFails<ManifestException>("unsupported manifest schema \"privategaze.manifest/2\"") { Manifest.parse(next) }
        assertFails<ManifestException>("unsupported manifest schema \"null\"") { Manifest.parse("{}") }
    }

    @Test
    fun malformedManifestsNameTheField() {
        assertFails<ManifestException>("not valid JSON") { Manifest.parse("{\"schema\": ") }
        assertFails<ManifestException>("a manifest is a JSON object") { Manifest.parse("[1]") }
        val noFocal = sidecar.replace("\"focal_px\"", "\"focal\"")
        assertFails<ManifestException>("unknown NormalizationSpec keys [focal]") { Manifest.parse(noFocal) }
        val badLayout = sidecar.replace("\"nchw\"", "\"chw\"")
        assertFails<ManifestException>("tensor layout must be one of") { Manifest.parse(badLayout) }
        val mismatch = sidecar.replace("\"size\": 32", "\"size\": 48")
        assertFails<ManifestException>("input size 32 differs from the normalization size 48") { Manifest.parse(mismatch) }
        val zeroFocal = Regex("\"focal_px\": [0-9.]+").replace(sidecar, "\"focal_px\": 0")
        assertFails<ManifestException>("focal_px must be a positive") { Manifest.parse(zeroFocal) }
    }

    @Test
    fun theEmbeddedManifestIsTheSidecarsWithoutTheFileFacts() {
        val embedded = Manifest.parse(TfliteMetadata.entry(model)!!)
        assertEquals(Manifest.parse(sidecar).embeddedPart, embedded.document)
        assertNull(TfliteMetadata.entry(model, "no.such.entry"))
    }

    @Test
    fun verifiedLoadAcceptsTheExportedPairAndRefusesTampering() {
        val artefact = ModelArtefact.verify("embedded.tflite", model, sidecar)
        assertTrue(artefact.sidecarChecked)
        assertEquals(Manifest.parse(sidecar).document["sha256"], artefact.sha256)
        assertFalse(ModelArtefact.verify("embedded.tflite", model, null).sidecarChecked)

        val tampered = model.copyOf().also { it[it.size - 1] = (it[it.size - 1] + 1).toByte() }
        assertFails<ModelFileException>("does not match its sidecar") { ModelArtefact.verify("m", tampered, sidecar) }
        assertFails<ModelFileException>("no sidecar") { ModelArtefact.verify("m", model, null, requireSidecar = true) }
        assertFails<ModelFileException>("is empty") { ModelArtefact.verify("m", ByteArray(0), null) }

        // A sidecar for the same bytes whose manifest says something else: a swapped model.
        val swapped = sidecar.replace("\"precision\": \"fp32\"", "\"precision\": \"int8\"")
        assertFails<ManifestException>("differs from its sidecar") { ModelArtefact.verify("m", model, swapped) }
    }

    @Test
    fun notTfliteOrTruncatedIsAManifestError() {
        assertFails<ManifestException>("not a TFLite model") { TfliteMetadata.entry("not a model at all".toByteArray()) }
        assertFails<ManifestException>("truncated or corrupt") { TfliteMetadata.entry(model.copyOf(40)) }
    }

    /**
     * A real export, when one is named: `-Dprivategaze.model=runs/exports/.../<name>.int8.tflite` (check_kotlin.sh
     * passes $PRIVATEGAZE_MODEL). Exports are build outputs, so the default run skips this.
     */
    @Test
    fun aRealExportVerifiesAgainstItsSidecar() {
        val path = System.getProperty("privategaze.model")
        assumeTrue("no -Dprivategaze.model given", !path.isNullOrEmpty())
        val artefact = ModelArtefact.load(java.io.File(path!!), requireSidecar = true)
        assertTrue(artefact.sidecarChecked)
        assertEquals(artefact.manifest.input.size, artefact.manifest.normalization.size)
        TensorCodec(artefact.manifest.input)
        TensorCodec(artefact.manifest.output)
    }
}
