import Foundation

/// The manifest `pgz-export` writes for every artefact (`sdk_python/privategaze/manifest.py`, schema
/// `privategaze.manifest/1`): inside the Core ML package's user-defined metadata under `metadataKey`, and in the
/// `<artefact>.json` sidecar beside it.
///
/// Everything the app needs to know about a model comes from here at run time, never from a constant copied out of
/// the Python code: the input and output names, shapes, layouts and value ranges, and the geometry of the face
/// normalization (its virtual camera and its face model). Where the Python side has defaults (ETH-XGaze's camera,
/// NCHW float in [0, 1], the SDK's face model for exports that predate `face_model`) this side requires the field
/// instead: a manifest without its geometry is refused rather than completed with a guess.
/// Fields this SDK does not use (parity, quality, tools, training) are left undecoded; the benchmark screen reads
/// the quality figures itself.
public struct Manifest: Codable, Equatable, Sendable {
    /// The one schema this SDK reads; any other is refused (`ManifestError` in Python).
    public static let schemaVersion = "privategaze.manifest/1"
    /// The key of the manifest in Core ML user-defined metadata, ONNX metadata_props and TFLite metadata.
    public static let metadataKey = "privategaze.manifest"

    public let schema: String
    /// Artefact name, e.g. "mobile-w8-48px-for-blackbox-resnet18.int8".
    public let name: String
    /// Export target: "coreml" for the packages this SDK runs.
    public let target: String
    public let precision: String
    public let precisionNote: String?
    public let input: TensorSpec
    public let output: TensorSpec
    public let normalization: NormalizationSpec
    /// The face model of the normalization (`face_model`, `privategaze.face.FaceModel`).
    public let faceModel: FaceModel
    public let preserver: PreserverInfo

    enum CodingKeys: String, CodingKey {
        case schema
        case name
        case target
        case precision
        case precisionNote = "precision_note"
        case input
        case output
        case normalization
        case faceModel = "face_model"
        case preserver
    }

    /// Decode and check a manifest (the embedded metadata string's bytes or a sidecar file).
    ///
    /// - Throws: `PrivateGazeError.manifest` when the data is not a JSON object, names another schema, lacks a
    ///   field, or describes inconsistent geometry.
    public static func decode(_ data: Data) throws -> Manifest {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw PrivateGazeError.manifest("the manifest is not valid JSON: \(error.localizedDescription)")
        }
        guard let fields = object as? [String: Any] else {
            throw PrivateGazeError.manifest("a manifest is a JSON object, got \(type(of: object))")
        }
        // The schema first, so that a newer manifest is named as such rather than reported as a missing field.
        let schema = fields["schema"].map { "\($0)" } ?? "none"
        guard schema == schemaVersion else {
            throw PrivateGazeError.manifest(
                "unsupported manifest schema '\(schema)'; this app reads '\(schemaVersion)': export the model with a "
                    + "pgz-export of the same schema, or update the app"
            )
        }
        // Exports from before the face model was added: name the fix rather than a missing field.
        guard fields["face_model"] != nil else {
            let name = fields["name"] as? String ?? "this model"
            throw PrivateGazeError.manifest(
                "the manifest of '\(name)' has no face_model (the face geometry of normalization): an older "
                    + "pgz-export made it; export the model again with this release's pgz-export"
            )
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch let error as DecodingError {
            throw PrivateGazeError.manifest("malformed manifest: \(Self.describe(error))")
        }
        try manifest.validate()
        return manifest
    }

    /// The checks `Manifest.__post_init__` and `TensorSpec.__post_init__` make, plus what the device code relies on:
    /// three colour channels, square images, a usable value range.
    public func validate() throws {
        try input.validate(role: "input")
        try output.validate(role: "output")
        try normalization.validate()
        try faceModel.validate()
        guard input.size == normalization.size else {
            throw PrivateGazeError.manifest(
                "input size \(input.size) differs from the normalization size \(normalization.size)"
            )
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "the top level" : keys.joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context):
            return "no '\(key.stringValue)' at \(path(context))"
        case let .typeMismatch(type, context):
            return "\(path(context)) is not a \(type): \(context.debugDescription)"
        case let .valueNotFound(type, context):
            return "\(path(context)) is null, expected a \(type)"
        case let .dataCorrupted(context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return error.localizedDescription
        }
    }
}

/// How an artefact's tensor is laid out; the raw values are the Python `LAYOUTS`.
public enum TensorLayout: String, Codable, CaseIterable, Sendable {
    /// Float tensor (1, 3, H, W).
    case nchw
    /// Float tensor (1, H, W, 3).
    case nhwc
    /// A Core ML image (CVPixelBuffer) of 8-bit RGB; the shape still reads (1, 3, H, W).
    case image
}

/// One input or output of an artefact (`TensorSpec` in `privategaze.manifest`).
public struct TensorSpec: Codable, Equatable, Sendable {
    /// The feature name in the model, e.g. "image" and "obfuscated".
    public let name: String
    public let shape: [Int]
    public let layout: TensorLayout
    /// "float32" for tensors, "uint8" for Core ML images.
    public let dtype: String
    /// The values that stand for black and white: [0, 1] for float tensors, [0, 255] for images.
    public let valueRange: [Double]
    /// Channel order; "RGB" for every export.
    public let color: String

    enum CodingKeys: String, CodingKey {
        case name
        case shape
        case layout
        case dtype
        case valueRange = "value_range"
        case color
    }

    /// Side of the square image in pixels (`TensorSpec.size` in Python).
    public var size: Int {
        guard shape.count == 4 else { return 0 }
        return layout == .nhwc ? shape[1] : shape[2]
    }

    /// The value that stands for black, and for white.
    public var black: Double { valueRange.first ?? 0 }
    public var white: Double { valueRange.count == 2 ? valueRange[1] : 1 }

    func validate(role: String) throws {
        guard shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
            throw PrivateGazeError.manifest(
                "\(role) '\(name)' must be 4-D (batch, and an image), got shape \(shape)"
            )
        }
        let (channels, height, width) = layout == .nhwc ? (shape[3], shape[1], shape[2]) : (shape[1], shape[2], shape[3])
        guard shape[0] == 1, channels == 3, height == width else {
            throw PrivateGazeError.manifest(
                "\(role) '\(name)' must be one square 3-channel image in \(layout.rawValue) layout, got shape \(shape)"
            )
        }
        guard valueRange.count == 2, valueRange.allSatisfy(\.isFinite), black < white else {
            throw PrivateGazeError.manifest(
                "\(role) '\(name)' must have a value range [black, white] of two finite numbers, got \(valueRange)"
            )
        }
        guard color == "RGB" else {
            throw PrivateGazeError.manifest("\(role) '\(name)' has colour order \(color); this app hands RGB")
        }
    }
}

/// The virtual camera faces are normalized with (`geometry.NormalizationSpec`): the one the preserver was trained on.
public struct NormalizationSpec: Codable, Equatable, Sendable {
    /// Focal length of the virtual camera in pixels.
    public let focalPx: Double
    /// Distance from the virtual camera to the face centre.
    public let distanceMm: Double
    /// Side of the square normalized image in pixels.
    public let size: Int

    enum CodingKeys: String, CodingKey {
        case focalPx = "focal_px"
        case distanceMm = "distance_mm"
        case size
    }

    public init(focalPx: Double, distanceMm: Double, size: Int) {
        self.focalPx = focalPx
        self.distanceMm = distanceMm
        self.size = size
    }

    func validate() throws {
        guard focalPx.isFinite, focalPx > 0, distanceMm.isFinite, distanceMm > 0 else {
            throw PrivateGazeError.manifest(
                "the normalization camera needs a positive finite focal_px and distance_mm, got \(focalPx) and "
                    + "\(distanceMm)"
            )
        }
        guard (32...1024).contains(size) else {
            throw PrivateGazeError.manifest("the normalization size must be 32 to 1024 pixels, got \(size)")
        }
    }
}

/// What the manifest says about the preserver behind an artefact (the `preserver` block). Every field is optional:
/// Python reads them with `dict.get`.
public struct PreserverInfo: Codable, Equatable, Sendable {
    public let name: String?
    /// "mobile" or "paper".
    public let arch: String?
    public let width: Int?
    public let inputSize: Int?
    /// The black-box gaze service the preserver was trained for.
    public let blackbox: String?
    public let surrogate: String?
    /// The anchor face the obfuscated faces imitate.
    public let anchorSha256: String?

    enum CodingKeys: String, CodingKey {
        case name
        case arch
        case width
        case inputSize = "input_size"
        case blackbox
        case surrogate
        case anchorSha256 = "anchor_sha256"
    }
}
