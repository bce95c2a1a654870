import Foundation
import XCTest
@testable import PrivateGazeSDK

/// Gaze answers read as the Python `ResponseSpec` reads them (python-reference.json: its gaze, or its refusal).
final class ResponseSpecTests: XCTestCase {
    func testAnswersParseAsInPython() throws {
        let cases = try XCTUnwrap(Fixtures.reference()["responses"] as? [[String: Any]])
        XCTAssertFalse(cases.isEmpty)
        for item in cases {
            let spec = try responseSpec(try XCTUnwrap(item["spec"] as? [String: Any]))
            let body = try JSONSerialization.data(withJSONObject: try XCTUnwrap(item["answer"]))
            let label = String(decoding: body, as: UTF8.self)
            if let expected = item["gaze"] as? [NSNumber] {
                let gaze = try spec.parse(body)
                assertClose([gaze.pitch, gaze.yaw], expected.map(\.doubleValue), tolerance: 1e-12, label)
            } else {
                XCTAssertThrowsError(try spec.parse(body), label) { error in
                    XCTAssertEqual((error as? PrivateGazeError)?.remoteFailure, .response, label)
                }
            }
        }
    }

    func testTheDefaultReadsTheReferenceService() throws {
        XCTAssertEqual(try ResponseSpec(), ResponseSpec.referenceService)
        XCTAssertEqual(ResponseSpec.referenceService.pitchPath, "gaze.pitch")
        XCTAssertEqual(ResponseSpec.referenceService.yawPath, "gaze.yaw")
    }

    func testContradictorySpecsAreConfigErrors() {
        XCTAssertThrowsError(try ResponseSpec(pitchPath: "a", vectorPath: "v"))
        XCTAssertThrowsError(try ResponseSpec(vectorPath: "v", units: .deg))
        XCTAssertThrowsError(try ResponseSpec(pitchPath: "a..b", yawPath: "c"))
        XCTAssertThrowsError(try ResponseSpec(vectorPath: "v", vectorSigns: [1, 0, 1])) { error in
            guard case .config = error as? PrivateGazeError else { return XCTFail("\(error)") }
        }
    }

    func testNotJSONIsAResponseError() throws {
        XCTAssertThrowsError(try ResponseSpec.referenceService.parse(Data("<html>".utf8))) { error in
            XCTAssertEqual((error as? PrivateGazeError)?.remoteFailure, .response)
        }
    }

    /// The Python spec's keys (`ResponseSpec.to_dict`) as the Swift initializer's arguments.
    private func responseSpec(_ fields: [String: Any]) throws -> ResponseSpec {
        try ResponseSpec(
            pitchPath: fields["pitch_path"] as? String,
            yawPath: fields["yaw_path"] as? String,
            vectorPath: fields["vector_path"] as? String,
            vectorSigns: (fields["vector_signs"] as? [NSNumber])?.map(\.doubleValue) ?? [1, 1, 1],
            units: ResponseSpec.Units(rawValue: fields["units"] as? String ?? "rad") ?? .rad,
            flipPitch: fields["flip_pitch"] as? Bool ?? false,
            flipYaw: fields["flip_yaw"] as? Bool ?? false
        )
    }
}
