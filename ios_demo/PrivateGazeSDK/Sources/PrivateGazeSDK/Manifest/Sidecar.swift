import Foundation

/// The `<artefact>.json` file `pgz-export` writes beside every artefact: the manifest plus the file facts a package
/// cannot hold about itself (its sha256, size and file name).
///
/// The app uses it two ways, as the Python `Preserver` does: its manifest must equal the one embedded in the model
/// (a swapped model is refused), and for an `.mlpackage` on disk its sha256 must match the package's bytes
/// (`ArtefactHash`). Xcode compiles a bundled package into an `.mlmodelc` whose bytes differ from the exported
/// package's, so for a bundled model only the manifests are compared.
public struct Sidecar: Sendable {
    /// Keys only the sidecar has (`manifest.read_sidecar`).
    public static let fileFactKeys: Set<String> = ["sha256", "size_bytes", "file"]

    public let manifest: Manifest
    /// The exporter's sha256 of the artefact (`manifest.artefact_sha256`), 64 lowercase hex digits.
    public let sha256: String?
    public let sizeBytes: Int?
    /// The artefact's file name, e.g. "mobile-w8-48px-for-blackbox-resnet18.int8.mlpackage".
    public let file: String?
    /// The sidecar's bytes, kept to compare its manifest with an embedded one field for field.
    let data: Data

    /// Read a sidecar's bytes.
    ///
    /// - Throws: `PrivateGazeError.manifest` as `Manifest.decode` does.
    public init(data: Data) throws {
        manifest = try Manifest.decode(data)
        let fields = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        sha256 = fields["sha256"] as? String
        sizeBytes = fields["size_bytes"] as? Int
        file = fields["file"] as? String
        self.data = data
    }

    /// Read the sidecar at `url`.
    ///
    /// - Throws: `PrivateGazeError.manifest` when it is missing, unreadable or not a manifest.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw PrivateGazeError.manifest(
                "cannot read the sidecar manifest \(url.lastPathComponent): \(error.localizedDescription); copy the "
                    + "<artefact>.json pgz-export wrote beside the model"
            )
        }
        try self.init(data: data)
    }

    /// Whether `embedded` (the model's metadata string as bytes) is this sidecar's manifest, every field compared,
    /// the ones this SDK does not decode included (parity, quality, tools, training).
    public func describesSameArtefact(asEmbedded embedded: Data) -> Bool {
        guard let sidecar = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let inside = (try? JSONSerialization.jsonObject(with: embedded)) as? [String: Any]
        else { return false }
        let manifestOnly = sidecar.filter { !Self.fileFactKeys.contains($0.key) }
        return NSDictionary(dictionary: manifestOnly).isEqual(to: inside)
    }
}
