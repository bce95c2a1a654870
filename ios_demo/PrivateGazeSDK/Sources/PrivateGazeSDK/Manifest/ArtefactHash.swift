#if canImport(CryptoKit)
import CryptoKit
import Foundation

/// The sha256 `pgz-export` writes into sidecars (`manifest.artefact_sha256`), computed the same way here so that a
/// package copied onto the device can be checked against its sidecar before it runs.
///
/// A file hashes as its bytes. A directory (an `.mlpackage`) hashes its regular files in the sorted order of their
/// relative POSIX paths, each as the path and then the contents, both prefixed by their length as 8 big-endian bytes,
/// so that no two trees share a hash. Python sorts the paths as `str`, by code point; for the ASCII names of a Core ML
/// package that is the byte order used here.
public enum ArtefactHash {
    /// sha256 (64 lowercase hex digits) and size in bytes of the file or directory at `url`.
    ///
    /// - Throws: `PrivateGazeError.modelFile` when nothing is there or a file cannot be read.
    public static func sha256(of url: URL) throws -> (sha256: String, sizeBytes: Int) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw PrivateGazeError.modelFile("no artefact at \(url.path)")
        }
        if !isDirectory.boolValue {
            let data = try read(url)
            return (hex(SHA256.hash(data: data)), data.count)
        }
        var digest = SHA256()
        var size = 0
        for (relative, file) in try files(under: url) {
            let name = Data(relative.utf8)
            let data = try read(file)
            digest.update(data: bigEndian(name.count) + name + bigEndian(data.count))
            digest.update(data: data)
            size += data.count
        }
        return (hex(digest.finalize()), size)
    }

    /// Every regular file under `root` with its relative POSIX path, sorted by the path's UTF-8 bytes.
    static func files(under root: URL) throws -> [(String, URL)] {
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isRegularFileKey], options: []
        ) else {
            throw PrivateGazeError.modelFile("cannot list the package \(root.lastPathComponent)")
        }
        var found: [(String, URL)] = []
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let path = url.standardizedFileURL.resolvingSymlinksInPath().path
            guard path.hasPrefix(rootPath + "/") else { continue }
            found.append((String(path.dropFirst(rootPath.count + 1)), url))
        }
        return found.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw PrivateGazeError.modelFile("cannot read \(url.lastPathComponent): \(error.localizedDescription)")
        }
    }

    private static func bigEndian(_ count: Int) -> Data {
        withUnsafeBytes(of: UInt64(count).bigEndian) { Data($0) }
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
#endif
