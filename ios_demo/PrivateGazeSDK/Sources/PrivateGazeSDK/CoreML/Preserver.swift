#if canImport(CoreML)
import CoreML
import CoreVideo
import Foundation

/// An exported preserver on the device, turning normalized faces into `ObfuscatedFace`s (`privategaze.Preserver`).
///
///     let preserver = try await Preserver.load(contentsOf: modelURL, sidecar: sidecarURL)
///     let face = try preserver.normalizer.normalize(frame, landmarks: six)       // raw: shown on screen only
///     let obfuscated = try preserver.obfuscate(face)                            // the only thing that leaves
///
/// Loading checks the artefact before anything runs: the manifest in the model's user-defined metadata must be of a
/// schema this SDK reads and describe a Core ML export; when the `<artefact>.json` sidecar is there its manifest must
/// be the embedded one, and for an `.mlpackage` its sha256 the package's (a tampered or swapped model is refused);
/// the model's own input and output descriptions must agree with the manifest. Input size, layout, value range, the
/// normalization camera and the face model all come from that manifest.
public final class Preserver: @unchecked Sendable {
    /// How strictly the sidecar is checked (`verify_sidecar` in Python).
    public enum SidecarCheck: Sendable {
        /// Check it when it is there.
        case ifPresent
        /// A missing sidecar is an error too.
        case required
        /// Do not read it.
        case skip
    }

    public let manifest: Manifest
    /// The model that was loaded (a compiled .mlmodelc): the app's own, or for an `.mlpackage` the copy compiled on
    /// the device and kept in the Caches folder (see `compiledPackage`).
    public let compiledModelURL: URL
    private let model: MLModel
    private let inputCodec: TensorCodec?
    private let outputCodec: TensorCodec?
    private let inputPixelFormat: OSType?
    /// Core ML does not promise that one model predicts safely from several threads at once.
    private let lock = NSLock()

    /// The face normalization with this model's virtual camera and face model.
    public var normalizer: FaceNormalizer {
        FaceNormalizer(spec: manifest.normalization, faceModel: manifest.faceModel)
    }

    /// Load an exported preserver: an `.mlmodelc` Xcode compiled into the app, or an `.mlpackage` (compiled here once
    /// per package content, and kept: loading it again compiles nothing and leaves no temporary copy behind).
    ///
    /// - Parameters:
    ///   - sidecar: pgz-export's `<artefact>.json`; by default `<package>.mlpackage.json` beside `url`.
    ///   - computeUnits: Where Core ML may run it (the benchmark screen compares them).
    /// - Throws: `PrivateGazeError.modelFile` for a missing, unreadable or swapped model; `.manifest` for a missing,
    ///   unknown or contradicted manifest.
    public static func load(
        contentsOf url: URL,
        sidecar: URL? = nil,
        sidecarCheck: SidecarCheck = .ifPresent,
        computeUnits: MLComputeUnits = .all
    ) async throws -> Preserver {
        let sidecarURL = sidecar ?? defaultSidecarURL(for: url)
        let facts = try readSidecar(at: sidecarURL, check: sidecarCheck)
        if let facts, url.pathExtension == "mlpackage" {
            try verifyPackageHash(url, sidecar: facts)
        }
        let compiled: URL
        do {
            compiled = url.pathExtension == "mlpackage" ? try await compiledPackage(url) : url
        } catch let error as PrivateGazeError {
            throw error
        } catch {
            throw PrivateGazeError.modelFile("Core ML cannot compile \(url.lastPathComponent): \(error.localizedDescription)")
        }
        let configuration = MLModelConfiguration()
        configuration.computeUnits = computeUnits
        let model: MLModel
        do {
            model = try await MLModel.load(contentsOf: compiled, configuration: configuration)
        } catch {
            if compiled != url { try? FileManager.default.removeItem(at: compiled) }  // a bad cached copy: compile anew
            throw PrivateGazeError.modelFile(
                "Core ML cannot load \(url.lastPathComponent): \(error.localizedDescription) (pgz-export's packages "
                    + "need iOS 17)"
            )
        }
        return try Preserver(model: model, compiledURL: compiled, file: url.lastPathComponent, sidecar: facts)
    }

    private init(model: MLModel, compiledURL: URL, file: String, sidecar: Sidecar?) throws {
        let metadata = model.modelDescription.metadata[MLModelMetadataKey.creatorDefinedKey] as? [String: String]
        guard let text = metadata?[Manifest.metadataKey] else {
            throw PrivateGazeError.manifest(
                "\(file) has no \(Manifest.metadataKey) metadata (it has \((metadata ?? [:]).keys.sorted())): export "
                    + "the model with pgz-export --target coreml, and do not re-save it with a tool that drops "
                    + "user-defined metadata"
            )
        }
        let manifest = try Manifest.decode(Data(text.utf8))
        guard manifest.target == "coreml" else {
            throw PrivateGazeError.manifest("\(file) is a \(manifest.target) export; this app runs Core ML packages")
        }
        if let sidecar, !sidecar.describesSameArtefact(asEmbedded: Data(text.utf8)) {
            throw PrivateGazeError.manifest("the manifest embedded in \(file) differs from its sidecar: a swapped model?")
        }
        let description = model.modelDescription
        inputPixelFormat = try Self.checkFeature(manifest.input, in: description.inputDescriptionsByName, file: file)
        _ = try Self.checkFeature(manifest.output, in: description.outputDescriptionsByName, file: file)
        inputCodec = manifest.input.layout == .image ? nil : try TensorCodec(spec: manifest.input)
        outputCodec = manifest.output.layout == .image ? nil : try TensorCodec(spec: manifest.output)
        self.manifest = manifest
        self.model = model
        compiledModelURL = compiledURL
    }

    /// Obfuscate a face this SDK normalized; the result carries its normalization, so the client can return
    /// camera-frame gaze too.
    ///
    /// - Throws: `PrivateGazeError.image` for a face of another size; `.preserver` when Core ML fails or returns
    ///   something that is not the manifest's output. Either way nothing is produced and nothing is sent.
    public func obfuscate(_ face: NormalizedFace, timestampMs: Int64? = nil) throws -> ObfuscatedFace {
        let pixels = try run(face.pixels)
        return wrap(pixels, face.normalization, timestampMs, face.method, face.intrinsics)
    }

    /// Obfuscate a face normalized elsewhere (`manifest.input.size` pixels square), with its normalization if known.
    public func obfuscate(
        normalizedFace pixels: RGBImage, normalization: Normalization? = nil, timestampMs: Int64? = nil
    ) throws -> ObfuscatedFace {
        let output = try run(pixels)
        return wrap(output, normalization, timestampMs, normalization == nil ? nil : .external, nil)
    }

    private func run(_ face: RGBImage) throws -> RGBImage {
        let size = manifest.input.size
        guard face.width == size, face.height == size else {
            throw PrivateGazeError.image(
                "\(manifest.name) takes a \(size)x\(size) normalized face, got \(face.width)x\(face.height); "
                    + "normalize frames with preserver.normalizer"
            )
        }
        let value: MLFeatureValue
        if let inputCodec {
            value = MLFeatureValue(multiArray: try MultiArrays.make(inputCodec.pack(face), shape: inputCodec.spec.shape))
        } else {
            let format = inputPixelFormat ?? kCVPixelFormatType_32BGRA
            value = MLFeatureValue(pixelBuffer: try PixelBuffers.make(from: face, pixelFormat: format))
        }
        let output: MLFeatureValue?
        do {
            let provider = try MLDictionaryFeatureProvider(dictionary: [manifest.input.name: value])
            lock.lock()
            defer { lock.unlock() }
            output = try model.prediction(from: provider).featureValue(for: manifest.output.name)
        } catch {
            throw PrivateGazeError.preserver(
                "Core ML failed on the frame: \(error.localizedDescription); the frame is dropped"
            )
        }
        let image: RGBImage
        if let outputCodec, let array = output?.multiArrayValue {
            image = try MultiArrays.rgbImage(array, codec: outputCodec)
        } else if outputCodec == nil, let buffer = output?.imageBufferValue {
            image = try PixelBuffers.rgbImage(buffer)
        } else {
            throw PrivateGazeError.preserver(
                "\(manifest.name) returned no \(manifest.output.layout.rawValue) output named '\(manifest.output.name)';"
                    + " the frame is dropped"
            )
        }
        let outputSize = manifest.output.size
        guard image.width == outputSize, image.height == outputSize else {
            throw PrivateGazeError.preserver(
                "\(manifest.name) returned a \(image.width)x\(image.height) image, its manifest says \(outputSize); "
                    + "the frame is dropped"
            )
        }
        return image
    }

    private func wrap(
        _ pixels: RGBImage, _ normalization: Normalization?, _ timestampMs: Int64?,
        _ method: NormalizationMethod?, _ intrinsics: IntrinsicsSource?
    ) -> ObfuscatedFace {
        ObfuscatedFace(
            pixels: pixels,
            model: manifest.name,
            blackbox: manifest.preserver.blackbox,
            anchorSha256: manifest.preserver.anchorSha256,
            normalization: normalization,
            timestampMs: timestampMs,
            normalizationMethod: method,
            intrinsics: intrinsics
        )
    }

    /// `model.mlpackage` -> `model.mlpackage.json`; a compiled `model.mlmodelc` in a bundle -> `model.mlpackage.json`
    /// beside it (what the demo's build phase copies in).
    static func defaultSidecarURL(for url: URL) -> URL {
        let directory = url.deletingLastPathComponent()
        let stem = url.deletingPathExtension().lastPathComponent
        return directory.appendingPathComponent("\(stem).mlpackage.json")
    }

    /// The `.mlmodelc` of `package`, compiled once per package content. `MLModel.compileModel(at:)` writes a new copy
    /// into the temporary folder on every call, and a long session that reloads the preserver would pile them up;
    /// instead the copy is moved to `Caches/PrivateGazeSDK/CompiledModels/<sha256 of the package>.mlmodelc` and found
    /// there by the next load of the same package. Caches is not backed up, and the system empties it only while the
    /// app is not running: a purged copy is compiled again.
    private static func compiledPackage(_ package: URL) async throws -> URL {
        #if canImport(CryptoKit)
        let files = FileManager.default
        let key = try ArtefactHash.sha256(of: package).sha256
        let folder = try files.url(for: .cachesDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("PrivateGazeSDK/CompiledModels", isDirectory: true)
        let cached = folder.appendingPathComponent("\(key).mlmodelc", isDirectory: true)
        if files.fileExists(atPath: cached.path) { return cached }
        let temporary = try await MLModel.compileModel(at: package)
        do {
            try files.createDirectory(at: folder, withIntermediateDirectories: true)
            try files.moveItem(at: temporary, to: cached)
        } catch {
            // A concurrent load of the same package moved its copy there first (use that one), or the cache cannot
            // be written (use the temporary copy, as compileModel(at:) alone would).
            guard files.fileExists(atPath: cached.path) else { return temporary }
            try? files.removeItem(at: temporary)
        }
        return cached
        #else
        return try await MLModel.compileModel(at: package)
        #endif
    }

    private static func readSidecar(at url: URL, check: SidecarCheck) throws -> Sidecar? {
        guard check != .skip else { return nil }
        guard FileManager.default.fileExists(atPath: url.path) else {
            if check == .required {
                throw PrivateGazeError.modelFile("no sidecar \(url.lastPathComponent) next to the model")
            }
            return nil
        }
        return try Sidecar(contentsOf: url)
    }

    private static func verifyPackageHash(_ url: URL, sidecar: Sidecar) throws {
        #if canImport(CryptoKit)
        let (sha256, _) = try ArtefactHash.sha256(of: url)
        guard sidecar.sha256 == sha256 else {
            throw PrivateGazeError.modelFile(
                "\(url.lastPathComponent) does not match its sidecar: sha256 \(sha256.prefix(12))... but the sidecar "
                    + "says \((sidecar.sha256 ?? "none").prefix(12))...; the package was modified or replaced"
            )
        }
        #endif
    }

    /// The feature named by `spec` must exist with the kind and size the manifest says; returns an image input's
    /// pixel format.
    private static func checkFeature(
        _ spec: TensorSpec, in features: [String: MLFeatureDescription], file: String
    ) throws -> OSType? {
        guard let feature = features[spec.name] else {
            throw PrivateGazeError.manifest(
                "\(file) has no feature '\(spec.name)' (it has \(features.keys.sorted())), which its manifest names"
            )
        }
        if spec.layout == .image {
            guard feature.type == .image, let constraint = feature.imageConstraint,
                  constraint.pixelsWide == spec.size, constraint.pixelsHigh == spec.size
            else {
                throw PrivateGazeError.manifest(
                    "\(file)'s feature '\(spec.name)' is not the \(spec.size)x\(spec.size) image its manifest says"
                )
            }
            return constraint.pixelFormatType
        }
        let shape = feature.multiArrayConstraint?.shape.map(\.intValue)
        guard feature.type == .multiArray, shape == nil || shape == [] || shape == spec.shape else {
            throw PrivateGazeError.manifest(
                "\(file)'s feature '\(spec.name)' has shape \(shape ?? []), its manifest says \(spec.shape)"
            )
        }
        return nil
    }
}

/// `MLMultiArray` <-> the codec's contiguous float values, strides honoured.
enum MultiArrays {
    static func make(_ values: [Float], shape: [Int]) throws -> MLMultiArray {
        let array: MLMultiArray
        do {
            array = try MLMultiArray(shape: shape.map { NSNumber(value: $0) }, dataType: .float32)
        } catch {
            throw PrivateGazeError.preserver("cannot allocate the model input \(shape): \(error.localizedDescription)")
        }
        let logical = contiguousStrides(shape)
        array.withUnsafeMutableBufferPointer(ofType: Float.self) { pointer, strides in
            for (offset, value) in values.enumerated() {
                pointer[stridedOffset(offset, logical: logical, strides: strides)] = value
            }
        }
        return array
    }

    static func rgbImage(_ array: MLMultiArray, codec: TensorCodec) throws -> RGBImage {
        let shape = array.shape.map(\.intValue)
        if array.dataType == .float32 {
            let strides = array.strides.map(\.intValue)
            return try array.withUnsafeBufferPointer(ofType: Float.self) { pointer in
                try codec.unpack(shape: shape, strides: strides) { pointer[$0] }
            }
        }
        // float16 or double outputs: read each element by index (slower, and rare for pgz-export's float32 tensors).
        guard shape.count == 4 else {
            throw PrivateGazeError.preserver("the model returned shape \(shape); the frame is dropped")
        }
        let logical = contiguousStrides(shape)
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        for offset in 0..<count {
            let index = (0..<4).map { NSNumber(value: (offset / logical[$0]) % shape[$0]) }
            values[offset] = array[index].floatValue
        }
        return try codec.unpack(shape: shape, strides: logical) { values[$0] }
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            strides[axis] = strides[axis + 1] * shape[axis + 1]
        }
        return strides
    }

    private static func stridedOffset(_ offset: Int, logical: [Int], strides: [Int]) -> Int {
        var remaining = offset, result = 0
        for axis in logical.indices {
            result += (remaining / logical[axis]) * strides[axis]
            remaining %= logical[axis]
        }
        return result
    }
}
#endif
