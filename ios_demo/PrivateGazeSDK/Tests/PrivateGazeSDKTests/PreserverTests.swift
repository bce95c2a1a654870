import Foundation
import XCTest
@testable import PrivateGazeSDK
#if canImport(CoreML)
import CoreML
#endif

/// The sidecar hash as `manifest.artefact_sha256` computes it, and the Core ML preserver on the tiny exported
/// packages (Fixtures/packages, written by make_fixtures.py; git-ignored, so run the script once on the Mac first).
final class PreserverTests: XCTestCase {
    #if canImport(CryptoKit)
    func testDirectoryHashIsPythons() throws {
        let expected = try XCTUnwrap(Fixtures.reference()["hash_tree"] as? [String: Any])
        let (sha256, size) = try ArtefactHash.sha256(of: Fixtures.url("hash-tree"))
        XCTAssertEqual(sha256, expected["sha256"] as? String)
        XCTAssertEqual(size, (expected["size_bytes"] as? NSNumber)?.intValue)
    }
    #endif

    #if canImport(CoreML)
    private func package(_ ioType: String) throws -> URL {
        let folder = try Fixtures.url("packages/\(ioType)")
        let found = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        guard let package = found.first(where: { $0.pathExtension == "mlpackage" }) else {
            throw XCTSkip(
                "no exported package in Fixtures/packages/\(ioType): run "
                    + "`python ios_demo/PrivateGazeSDK/Tests/PrivateGazeSDKTests/Fixtures/make_fixtures.py` first"
            )
        }
        return package
    }

    func testBothIOTypesObfuscateAFaceOfTheManifestsSize() async throws {
        for ioType in ["image", "tensor"] {
            let preserver = try await Preserver.load(
                contentsOf: try package(ioType), sidecarCheck: .required, computeUnits: .cpuOnly
            )
            let size = preserver.manifest.input.size
            let frame = try Fixtures.syntheticFrame(width: 96, height: 128)
            let face = try preserver.normalizer.normalize(frame, box: FaceBox(x0: 30, y0: 40, x1: 70, y1: 82))
            XCTAssertEqual(face.pixels.width, size, "the manifest's camera sets the normalized size")
            let obfuscated = try preserver.obfuscate(face, timestampMs: 7)
            XCTAssertEqual(obfuscated.size, size)
            XCTAssertEqual(obfuscated.model, preserver.manifest.name)
            XCTAssertEqual(obfuscated.blackbox, preserver.manifest.preserver.blackbox)
            XCTAssertEqual(obfuscated.normalization, face.normalization)
            XCTAssertEqual(obfuscated.normalizationMethod, .box)
            XCTAssertNotEqual(obfuscated.pixels, face.pixels, "\(ioType): the output is not the raw face")
        }
    }

    func testAModifiedPackageIsRefused() async throws {
        let original = try package("image")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let copy = work.appendingPathComponent(original.lastPathComponent)
        try FileManager.default.copyItem(at: original, to: copy)
        try FileManager.default.copyItem(
            at: original.deletingLastPathComponent().appendingPathComponent(original.lastPathComponent + ".json"),
            to: work.appendingPathComponent(original.lastPathComponent + ".json")
        )
        try Data("tampered".utf8).write(to: copy.appendingPathComponent("extra.bin"))
        do {
            _ = try await Preserver.load(contentsOf: copy)
            XCTFail("a package that no longer matches its sidecar must not load")
        } catch let error as PrivateGazeError {
            guard case let .modelFile(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("does not match its sidecar"), message)
        }
    }

    func testASwappedSidecarIsRefused() async throws {
        let image = try package("image"), tensor = try package("tensor")
        let tensorSidecar = tensor.deletingLastPathComponent().appendingPathComponent(tensor.lastPathComponent + ".json")
        do {
            _ = try await Preserver.load(contentsOf: image, sidecar: tensorSidecar)
            XCTFail("the tensor export's sidecar does not describe the image export")
        } catch let error as PrivateGazeError {
            XCTAssertTrue(error.isModelFileError, "\(error)")
        }
    }
    #endif
}
