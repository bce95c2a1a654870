import Foundation
import XCTest
@testable import PrivateGazeSDK

/// The manifest as pgz-export writes it: decoded from real sidecars and the real embedded string, unknown schemas
/// and broken geometry refused.
final class ManifestTests: XCTestCase {
    func testImageSidecarDecodesWithItsGeometry() throws {
        let manifest = try Fixtures.imageManifest()
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Fixtures.data("tiny-image.mlpackage.json")) as? [String: Any]
        )
        let normalization = try XCTUnwrap(json["normalization"] as? [String: Any])
        XCTAssertEqual(manifest.schema, Manifest.schemaVersion)
        XCTAssertEqual(manifest.target, "coreml")
        XCTAssertEqual(manifest.input.layout, .image)
        XCTAssertEqual(manifest.input.valueRange, [0, 255])
        XCTAssertEqual(manifest.input.size, manifest.normalization.size)
        XCTAssertEqual(manifest.normalization.focalPx, (normalization["focal_px"] as? NSNumber)?.doubleValue)
        XCTAssertEqual(manifest.normalization.distanceMm, (normalization["distance_mm"] as? NSNumber)?.doubleValue)
        XCTAssertEqual(manifest.output.name, (json["output"] as? [String: Any])?["name"] as? String)
        XCTAssertEqual(manifest.preserver.blackbox, "blackbox-tiny")
        XCTAssertNotNil(manifest.preserver.anchorSha256)
        let faceModel = try XCTUnwrap(json["face_model"] as? [String: Any])
        XCTAssertEqual(manifest.faceModel.landmarks, faceModel["landmarks"] as? [String])
        XCTAssertEqual(Set(manifest.faceModel.landmarks), FaceLandmarks6.names)
        XCTAssertEqual(manifest.faceModel.pointsMm.count, 6)
        XCTAssertEqual(manifest.faceModel.boxFaceWidthMm, (faceModel["box_face_width_mm"] as? NSNumber)?.doubleValue)
    }

    func testAnOlderExportWithoutAFaceModelIsRefusedWithTheFix() throws {
        let data = try mutated { $0.removeValue(forKey: "face_model") }
        XCTAssertThrowsError(try Manifest.decode(data)) { error in
            guard case let .manifest(message) = error as? PrivateGazeError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("has no face_model"), message)
            XCTAssertTrue(message.contains("export the model again with this release's pgz-export"), message)
        }
    }

    func testTensorSidecarIsFloatNCHWInUnitRange() throws {
        let manifest = try Fixtures.tensorManifest()
        XCTAssertEqual(manifest.input.layout, .nchw)
        XCTAssertEqual(manifest.input.dtype, "float32")
        XCTAssertEqual(manifest.input.valueRange, [0, 1])
        XCTAssertEqual(manifest.input.shape, [1, 3, manifest.normalization.size, manifest.normalization.size])
    }

    func testEmbeddedStringIsTheSidecarsManifest() throws {
        let embedded = try XCTUnwrap(Fixtures.reference()["embedded_manifest_image"] as? String)
        let image = try Sidecar(data: Fixtures.data("tiny-image.mlpackage.json"))
        let tensor = try Sidecar(data: Fixtures.data("tiny-tensor.mlpackage.json"))
        XCTAssertEqual(try Manifest.decode(Data(embedded.utf8)), image.manifest)
        XCTAssertTrue(image.describesSameArtefact(asEmbedded: Data(embedded.utf8)))
        XCTAssertFalse(tensor.describesSameArtefact(asEmbedded: Data(embedded.utf8)), "a swapped model must not pass")
        XCTAssertEqual(image.sha256?.count, 64)
        XCTAssertEqual(image.file, "\(image.manifest.name).mlpackage")
    }

    func testUnknownSchemaIsRefusedByName() throws {
        let data = try mutated { $0["schema"] = "privategaze.manifest/2" }
        XCTAssertThrowsError(try Manifest.decode(data)) { error in
            guard case let .manifest(message) = error as? PrivateGazeError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("unsupported manifest schema 'privategaze.manifest/2'"), message)
        }
    }

    func testMissingGeometryIsRefusedNotGuessed() throws {
        for key in ["normalization", "input", "face_model"] {
            let data = try mutated { $0.removeValue(forKey: key) }
            XCTAssertThrowsError(try Manifest.decode(data)) { error in
                guard case let .manifest(message) = error as? PrivateGazeError else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains(key), message)
            }
        }
    }

    func testInconsistentGeometryIsRefused() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("unknown layout", { Self.set(&$0, "input", "layout", "planar") }),
            ("size mismatch", { Self.set(&$0, "normalization", "size", 48) }),
            ("focal", { Self.set(&$0, "normalization", "focal_px", -1) }),
            ("range", { Self.set(&$0, "input", "value_range", [1, 0]) }),
            ("not 4-D", { Self.set(&$0, "output", "shape", [3, 32, 32]) }),
            ("colour", { Self.set(&$0, "input", "color", "BGR") }),
            ("face width", { Self.set(&$0, "face_model", "box_face_width_mm", 0) }),
            ("landmark names", { Self.set(&$0, "face_model", "landmarks", ["a", "b", "c", "d", "e", "f"]) }),
            ("face model rows", { Self.set(&$0, "face_model", "points_mm", [[0, 0, 0]]) }),
            ("face model row", { Self.set(&$0, "face_model", "points_mm", Array(repeating: [0, 0], count: 6)) }),
        ]
        for (name, mutation) in cases {
            let data = try mutated(mutation)
            XCTAssertThrowsError(try Manifest.decode(data), name) { error in
                XCTAssertTrue((error as? PrivateGazeError)?.isModelFileError == true, "\(name): \(error)")
            }
        }
    }

    func testAnOffCentreFaceModelIsRefused() throws {
        // The head pose's translation is taken as the face centre, so the model must be centred on it, as
        // `face.FaceModel` checks: every point 5 mm lower puts the face centre 5 mm below the origin.
        let data = try mutated { Self.shiftFaceModelDown(&$0, mm: 5) }
        XCTAssertThrowsError(try Manifest.decode(data)) { error in
            guard case let .manifest(message) = error as? PrivateGazeError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("face_model.points_mm must be centred on the face centre"), message)
        }
        // A rounding-sized offset is within FaceModel.centredWithinMm, as in Python.
        let rounding = try mutated { Self.shiftFaceModelDown(&$0, mm: 1e-9) }
        XCTAssertEqual(try Manifest.decode(rounding).faceModel.pointsMm.count, 6)
    }

    func testNotJSONIsAManifestError() {
        XCTAssertThrowsError(try Manifest.decode(Data("not json".utf8))) { error in
            guard case .manifest = error as? PrivateGazeError else { return XCTFail("\(error)") }
        }
    }

    private func mutated(_ change: (inout [String: Any]) -> Void) throws -> Data {
        var json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Fixtures.data("tiny-image.mlpackage.json")) as? [String: Any]
        )
        change(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }

    private static func shiftFaceModelDown(_ json: inout [String: Any], mm: Double) {
        let rows = (json["face_model"] as? [String: Any])?["points_mm"] as? [[NSNumber]] ?? []
        let shifted = rows.map { row in [row[0].doubleValue, row[1].doubleValue + mm, row[2].doubleValue] }
        set(&json, "face_model", "points_mm", shifted)
    }

    private static func set(_ json: inout [String: Any], _ block: String, _ key: String, _ value: Any) {
        var inner = json[block] as? [String: Any] ?? [:]
        inner[key] = value
        json[block] = inner
    }
}
