/*
 * The manifest of an exported preserver (schema privategaze.manifest/1, written by pgz-export into the model and
 * into the `<model>.tflite.json` sidecar; defined in sdk_python/privategaze/manifest.py).
 *
 * Everything the SDK needs to run a model comes from here at run time: the input size, the tensor layout, dtype,
 * value range and channel order, and the normalization geometry (virtual camera focal length, distance, image size;
 * the face model and the face width a detector box is assumed to span). No such constant is written into this code by
 * hand, and a manifest of another schema, or one without a face model, is refused, not guessed at.
 * The field names are the exporter's; tests/test_android_demo.py checks them against what the exporter writes.
 */
package ai.privategaze.sdk

/**
 * The virtual camera faces are normalized with (Python: `geometry.NormalizationSpec`).
 *
 * @property focalPx focal length of the virtual camera in pixels.
 * @property distanceMm distance from the virtual camera to the face centre.
 * @property size side of the square normalized image in pixels (32 to 1024).
 */
data class NormalizationSpec(val focalPx: Double, val distanceMm: Double, val size: Int) {
    init {
        if (!focalPx.isFinite() || focalPx <= 0) {
            throw ConfigException("NormalizationSpec.focal_px must be a positive finite number, got $focalPx")
        }
        if (!distanceMm.isFinite() || distanceMm <= 0) {
            throw ConfigException("NormalizationSpec.distance_mm must be a positive finite number, got $distanceMm")
        }
        if (size !in 32..1024) {
            throw ConfigException("NormalizationSpec.size must be an integer from 32 to 1024 pixels, got $size")
        }
    }

    internal companion object {
        val KEYS = setOf("focal_px", "distance_mm", "size")

        fun parse(fields: JsonFields): NormalizationSpec {
            val unknown = fields.toMap().keys - KEYS
            if (unknown.isNotEmpty()) {
                throw ManifestException(
                    "unknown NormalizationSpec keys ${unknown.sorted()}; expected focal_px, distance_mm, size",
                )
            }
            return NormalizationSpec(fields.double("focal_px"), fields.double("distance_mm"), fields.int("size"))
        }
    }
}

/**
 * The face geometry of normalization (Python: `face.FaceModel`, the manifest's `face_model`).
 *
 * @property landmarks the six landmark names (those of [SixLandmarks.NAMES], each once), in [pointsMm]'s row order.
 * @property pointsMm the 3-D face model in mm (head coordinates: x right, y down, z towards the back of the head),
 *   centred on the face centre (ETH-XGaze's: the mean of the eye-corner centre and the mouth-corner centre), so that a
 *   head pose's translation is the face centre; pgz-export checks that, and so does this class (within
 *   [CENTRED_WITHIN_MM]), since [Normalizer] takes the translation as the face centre.
 * @property boxFaceWidthMm width of a face-detector box around an adult face, to guess a face's distance from its box.
 */
data class FaceModel(val landmarks: List<String>, val pointsMm: List<Vec3>, val boxFaceWidthMm: Double) {
    init {
        if (landmarks.size != 6 || landmarks.toSet() != SixLandmarks.NAMES) {
            val names = SixLandmarks.NAMES.sorted()
            throw ConfigException("face_model.landmarks must name each of $names once, got $landmarks")
        }
        if (pointsMm.size != 6 || pointsMm.any { !it.isFinite() }) {
            throw ConfigException("face_model.points_mm must be 6 rows of 3 finite numbers (mm), got $pointsMm")
        }
        if (!boxFaceWidthMm.isFinite() || boxFaceWidthMm <= 0) {
            throw ConfigException("face_model.box_face_width_mm must be a positive finite number, got $boxFaceWidthMm")
        }
        val eyeCorners = landmarks.indices.filter { "_eye_" in landmarks[it] }.map { pointsMm[it] }
        val mouthCorners = landmarks.indices.filter { landmarks[it].startsWith("mouth_") }.map { pointsMm[it] }
        val eyeCenter = eyeCorners.reduce(Vec3::plus) * (1.0 / eyeCorners.size)
        val center = (eyeCenter + mouthCorners.reduce(Vec3::plus) * (1.0 / mouthCorners.size)) * 0.5
        if (center.norm > CENTRED_WITHIN_MM) {
            throw ConfigException(
                "face_model.points_mm must be centred on the face centre (the mean of the eye-corner centre and " +
                    "the mouth-corner centre), which lies at ${center.toList()} mm: a head pose's translation is " +
                    "taken as the face centre",
            )
        }
    }

    internal companion object {
        val KEYS = setOf("landmarks", "points_mm", "box_face_width_mm")

        /**
         * How far from the origin the face centre of [pointsMm] may lie, in mm: Python's
         * `privategaze.face._CENTRED_WITHIN_MM` (the manifest does not carry it; tests/test_android_demo.py checks
         * that the two agree).
         */
        const val CENTRED_WITHIN_MM = 1e-6

        fun parse(fields: JsonFields): FaceModel {
            val keys = fields.toMap().keys
            if (keys != KEYS) throw ManifestException("face_model keys must be ${KEYS.sorted()}, got ${keys.sorted()}")
            val rows = fields.doubleRows("points_mm")
            if (rows.any { it.size != 3 }) {
                throw ManifestException("face_model.points_mm must be 6 rows of 3 finite numbers (mm), got $rows")
            }
            return FaceModel(
                fields.strings("landmarks"),
                rows.map { Vec3(it[0], it[1], it[2]) },
                fields.double("box_face_width_mm"),
            )
        }
    }
}

/**
 * One input or output of an artefact (Python: `manifest.TensorSpec`).
 *
 * @property shape four dimensions: batch, then the image in [layout] order.
 * @property layout "nchw", "nhwc", or "image" (Core ML image I/O, which this SDK does not run).
 * @property valueRange the float range that pixel values 0 and 255 map to.
 * @property color channel order, "RGB" or "BGR".
 */
data class TensorSpec(
    val name: String,
    val shape: List<Int>,
    val layout: String,
    val dtype: String,
    val valueRange: Pair<Double, Double>,
    val color: String,
) {
    init {
        if (layout !in Manifest.LAYOUTS) {
            throw ManifestException("tensor layout must be one of ${Manifest.LAYOUTS}, got \"$layout\"")
        }
        if (shape.size != 4) {
            throw ManifestException("tensor \"$name\" must be 4-D (batch, and an image), got shape $shape")
        }
    }

    /** Side of the square image in pixels. */
    val size: Int
        get() = if (layout == "nhwc") shape[1] else shape[2]

    /** Number of values in the tensor. */
    val elementCount: Int
        get() = shape.fold(1) { product, dimension -> product * dimension }

    internal companion object {
        // The Python dataclass's defaults, for a manifest that leaves a field out.
        fun parse(fields: JsonFields): TensorSpec {
            val range = if (fields.has("value_range")) fields.doubles("value_range") else listOf(0.0, 1.0)
            if (range.size != 2) throw ManifestException("value_range must be two numbers, got $range")
            return TensorSpec(
                name = fields.string("name"),
                shape = fields.ints("shape"),
                layout = fields.optString("layout") ?: "nchw",
                dtype = fields.optString("dtype") ?: "float32",
                valueRange = range[0] to range[1],
                color = fields.optString("color") ?: "RGB",
            )
        }
    }
}

/**
 * What the SDK and the app need to know about an exported preserver.
 *
 * @property document the whole manifest as parsed, for the figures this class does not name (parity, quality,
 *   tools, training) and for comparing an embedded manifest with its sidecar.
 */
class Manifest private constructor(
    val name: String,
    val target: String,
    val precision: String,
    val precisionNote: String,
    val input: TensorSpec,
    val output: TensorSpec,
    val normalization: NormalizationSpec,
    val faceModel: FaceModel,
    val preserverName: String?,
    val blackbox: String?,
    val anchorSha256: String?,
    val document: Map<String, Any?>,
) {
    /** The manifest without the sidecar's file facts: what pgz-export embeds in the model. */
    val embeddedPart: Map<String, Any?>
        get() = document.filterKeys { it !in SIDECAR_KEYS }

    override fun toString(): String = "Manifest($name, $target $precision, ${input.size} px ${input.layout})"

    companion object {
        /** The only schema this SDK reads; pgz-export writes it (Python: `manifest.SCHEMA`). */
        const val SCHEMA = "privategaze.manifest/1"

        /** The metadata key the manifest is embedded under in every artefact (Python: `manifest.KEY`). */
        const val KEY = "privategaze.manifest"

        /** Tensor layouts a manifest may name (Python: `manifest.LAYOUTS`). */
        val LAYOUTS = listOf("nchw", "nhwc", "image")

        /** Keys only the sidecar has: the file's sha256, size and name. */
        val SIDECAR_KEYS = setOf("sha256", "size_bytes", "file")

        /**
         * Parses a manifest or a sidecar (whose extra sha256, size_bytes and file are kept in [document]).
         *
         * @throws ManifestException the text is not JSON, the schema is not [SCHEMA], or a field is malformed.
         */
        fun parse(text: String): Manifest {
            val root = try {
                Json.parse(text)
            } catch (e: IllegalArgumentException) {
                throw ManifestException("the manifest is not valid JSON: ${e.message}", e)
            }
            @Suppress("UNCHECKED_CAST")
            val document = root as? Map<String, Any?>
                ?: throw ManifestException("a manifest is a JSON object, got ${JsonFields.describe(root)}")
            return fromDocument(document)
        }

        private fun fromDocument(document: Map<String, Any?>): Manifest {
            val schema = document["schema"]
            if (schema != SCHEMA) {
                throw ManifestException("unsupported manifest schema \"$schema\"; this version reads \"$SCHEMA\"")
            }
            val fields = JsonFields(document, "") { ManifestException("malformed manifest: $it") }
            if (document["face_model"] == null) {
                val name = document["name"]
                throw ManifestException(
                    "the manifest of \"$name\" has no face_model (the face geometry of " +
                        "normalization): an older pgz-export made it; export the model again with this release's pgz-export",
                )
            }
            val manifest = try {
                val preserver = fields.optObj("preserver")
                Manifest(
                    name = fields.string("name"),
                    target = fields.string("target"),
                    precision = fields.string("precision"),
                    precisionNote = fields.optString("precision_note") ?: "",
                    input = TensorSpec.parse(fields.obj("input")),
                    output = TensorSpec.parse(fields.obj("output")),
                    normalization = NormalizationSpec.parse(fields.obj("normalization")),
                    faceModel = FaceModel.parse(fields.obj("face_model")),
                    preserverName = preserver?.optString("name"),
                    blackbox = preserver?.optString("blackbox"),
                    anchorSha256 = preserver?.optString("anchor_sha256"),
                    document = document,
                )
            } catch (e: ConfigException) {
                throw ManifestException("malformed manifest: ${e.message}", e)
            }
            if (manifest.input.size != manifest.normalization.size) {
                throw ManifestException(
                    "input size ${manifest.input.size} differs from the normalization size ${manifest.normalization.size}",
                )
            }
            return manifest
        }
    }
}
