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
        assertEquals(SixLandmarks.NAMES, manifest.faceModel.landmarks.toSet())
        assertEquals(6, manifest.faceModel.pointsMm.size)
        assertTrue(manifest.faceModel.boxFaceWidthMm > 0)
    }

    @Test
    fun aManifestWithoutAFaceModelIsRefusedWithTheFix() {
        @Suppress("UNCHECKED_CAST")
        val older = (Json.parse(sidecar) as Map<String, Any?>) - "face_model"
        val error = assertFails<ManifestException>("has no face_model") { Manifest.parse(Json.write(older)) }
        assertTrue(error.message!!.contains("export the model again with this release's pgz-export"))
    }

    @Test
    fun malformedFaceModelsAreRefused() {
        @Suppress("UNCHECKED_CAST")
        val document = Json.parse(sidecar) as Map<String, Any?>
        val faceModel = document["face_model"].obj()
        fun with(change: Map<String, Any?>) = Json.write(document + ("face_model" to faceModel + change))
        val rows = faceModel["points_mm"] as List<*>
        val names = faceModel["landmarks"] as List<*>
        assertFails<ManifestException>("must name each of") { Manifest.parse(with(mapOf("landmarks" to names.drop(1)))) }
        assertFails<ManifestException>("must name each of") { Manifest.parse(with(mapOf("landmarks" to names.drop(1) + names[1]))) }
        assertFails<ManifestException>("must hold strings") { Manifest.parse(with(mapOf("landmarks" to listOf(1.0)))) }
        assertFails<ManifestException>("6 rows of 3") { Manifest.parse(with(mapOf("points_mm" to rows.drop(1)))) }
        assertFails<ManifestException>("6 rows of 3") { Manifest.parse(with(mapOf("points_mm" to rows.map { listOf(0.0, 0.0) }))) }
        assertFails<ManifestException>("lists of numbers") { Manifest.parse(with(mapOf("points_mm" to listOf("a")))) }
        assertFails<ManifestException>("box_face_width_mm must be a positive") {
            Manifest.parse(with(mapOf("box_face_width_mm" to -1.0)))
        }
        assertFails<ManifestException>("face_model keys must be") { Manifest.parse(with(mapOf("units" to "cm"))) }
        assertFails<ManifestException>("face_model must be an object") {
            Manifest.parse(Json.write(document + ("face_model" to listOf(1.0))))
        }
    }

    @Test
    fun anOffCentreFaceModelIsRefused() {
        // The head pose's translation is taken as the face centre, so the model must be centred on it, as
        // `face.FaceModel` checks: every point 5 mm lower puts the face centre 5 mm below the origin.
        @Suppress("UNCHECKED_CAST")
        val document = Json.parse(sidecar) as Map<String, Any?>
        val faceModel = document["face_model"].obj()
        fun shiftedDown(mm: Double): String {
            val rows = (faceModel["points_mm"] as List<*>).map { row ->
                val (x, y, z) = (row as List<*>).map { it as Double }
                listOf(x, y + mm, z)
            }
            return Json.write(document + ("face_model" to faceModel + ("points_mm" to rows)))
        }
        val error = assertFails<ManifestException>("must be centred on the face centre") {
            Manifest.parse(shiftedDown(5.0))
        }
        assertTrue(error.message!!, error.message!!.startsWith("malformed manifest: face_model.points_mm"))
        // A rounding-sized offset is within FaceModel.CENTRED_WITHIN_MM, as in Python.
        assertEquals(6, Manifest.parse(shiftedDown(1e-9)).faceModel.pointsMm.size)
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
