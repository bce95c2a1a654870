import Foundation
import XCTest
@testable import PrivateGazeSDK

/// Head pose, normalization, gaze rotation and the face warp against `privategaze.geometry` and `privategaze.face`
/// for the same inputs (python-reference.json), with the virtual camera and the face model of a real exported
/// manifest.
final class GeometryTests: XCTestCase {
    private var geometry: [String: Any] = [:]
    private var normalizer = FaceNormalizer(
        spec: NormalizationSpec(focalPx: 1, distanceMm: 1, size: 32),
        faceModel: FaceModel(landmarks: [], pointsMm: [], boxFaceWidthMm: 1)
    )
    private var camera = Matrix3.identity
    private var frame = try? RGBImage(width: 1, height: 1, bytes: [0, 0, 0])

    override func setUpWithError() throws {
        geometry = try XCTUnwrap(Fixtures.reference()["geometry"] as? [String: Any])
        let manifest = try Fixtures.imageManifest()
        normalizer = FaceNormalizer(spec: manifest.normalization, faceModel: manifest.faceModel)
        camera = try matrix(geometry["camera_matrix"])
        let size = try XCTUnwrap(geometry["frame"] as? [String: Int])
        frame = try Fixtures.syntheticFrame(width: try XCTUnwrap(size["width"]), height: try XCTUnwrap(size["height"]))
    }

    func testTheManifestCameraIsTheReferenceCamera() throws {
        let spec = try XCTUnwrap(geometry["normalization_spec"] as? [String: NSNumber])
        XCTAssertEqual(normalizer.spec.focalPx, spec["focal_px"]?.doubleValue)
        XCTAssertEqual(normalizer.spec.distanceMm, spec["distance_mm"]?.doubleValue)
        XCTAssertEqual(normalizer.spec.size, spec["size"]?.intValue)
    }

    func testTheManifestFaceModelIsTheReferenceFaceModel() throws {
        let expected = try XCTUnwrap(geometry["face_model"] as? [String: Any])
        let model = normalizer.faceModel
        XCTAssertEqual(model.landmarks, expected["landmarks"] as? [String])
        XCTAssertEqual(model.boxFaceWidthMm, (expected["box_face_width_mm"] as? NSNumber)?.doubleValue)
        let rows = try XCTUnwrap(expected["points_mm"] as? [[NSNumber]])
        XCTAssertEqual(model.pointsMm.count, rows.count)
        for (point, row) in zip(model.pointsMm, rows) {
            assertClose(point, row.map(\.doubleValue), tolerance: 0, "face model")
        }
    }

    func testTheFaceModelRowOrderComesFromItsLandmarkNames() throws {
        let cases = try XCTUnwrap(geometry["landmark_cases"] as? [[String: Any]])
        let landmarks = try sixLandmarks(cases[1]["landmarks"])
        let model = normalizer.faceModel
        let order = [4, 1, 5, 0, 3, 2]
        let permuted = FaceNormalizer(
            spec: normalizer.spec,
            faceModel: FaceModel(
                landmarks: order.map { model.landmarks[$0] }, pointsMm: order.map { model.pointsMm[$0] },
                boxFaceWidthMm: model.boxFaceWidthMm
            )
        )
        let expected = try normalizer.normalization(landmarks: landmarks, cameraMatrix: camera)
        let actual = try permuted.normalization(landmarks: landmarks, cameraMatrix: camera)
        assertClose(actual.warp.entries, expected.warp.entries, tolerance: 1e-9, "permuted face model")
    }

    func testDefaultCameraMatrixIsPythons() throws {
        let size = try XCTUnwrap(geometry["frame"] as? [String: Int])
        let guess = try Camera.defaultMatrix(width: try XCTUnwrap(size["width"]), height: try XCTUnwrap(size["height"]))
        assertClose(guess.entries, camera.entries, tolerance: 0, "default camera")
    }

    func testHeadPoseAndNormalizationFromLandmarks() throws {
        let cases = try XCTUnwrap(geometry["landmark_cases"] as? [[String: Any]])
        for (index, item) in cases.enumerated() {
            let landmarks = try sixLandmarks(item["landmarks"])
            let distortion = (item["distortion"] as? [NSNumber]).map { values -> DistortionCoefficients in
                let v = values.map(\.doubleValue)
                return DistortionCoefficients(k1: v[0], k2: v[1], p1: v[2], p2: v[3])
            }
            let model = normalizer.faceModel
            let pose = try HeadPoseEstimator.estimate(
                landmarks: try landmarks.points(in: model), model: model.points, cameraMatrix: camera,
                distortion: distortion
            )
            assertClose(pose.rotation.entries, try doubles(item["head_rotation"]), tolerance: 1e-6, "case \(index) R")
            let translation = [pose.translation.x, pose.translation.y, pose.translation.z]
            assertClose(translation, try doubles(item["head_translation"]), tolerance: 1e-5, "case \(index) t")

            let normalization = try normalizer.normalization(
                landmarks: landmarks, cameraMatrix: camera, distortion: distortion
            )
            assertClose(normalization.rotation.entries, try doubles(item["rotation"]), tolerance: 1e-6, "case \(index)")
            assertClose(normalization.warp.entries, try doubles(item["warp"]), tolerance: 1e-6, "case \(index) warp")
            let center = normalization.faceCenterMm
            assertClose([center.x, center.y, center.z], try doubles(item["face_center_mm"]), tolerance: 1e-5)

            let gaze = try doubles(item["gaze_normalized"])
            let cameraGaze = try normalization.gazeToCamera(GazeAngles(pitch: gaze[0], yaw: gaze[1]))
            assertClose([cameraGaze.pitch, cameraGaze.yaw], try doubles(item["gaze_camera"]), tolerance: 1e-6)

            let pixels = try XCTUnwrap(frame)
            let warped = try FaceWarp.warp(pixels, normalization: normalization)
            try assertSamePixels(warped, item["warped_rgb_base64"], "case \(index)")
        }
    }

    func testBoxNormalizationAssumesAFrontalHead() throws {
        let item = try XCTUnwrap(geometry["box_case"] as? [String: Any])
        let values = try doubles(item["box"])
        let box = FaceBox(x0: values[0], y0: values[1], x1: values[2], y1: values[3])
        let face = try normalizer.normalize(try XCTUnwrap(frame), box: box)
        XCTAssertEqual(face.method, .box)
        XCTAssertEqual(face.intrinsics.rawValue, item["intrinsics"] as? String)
        XCTAssertEqual(normalizer.faceModel.boxFaceWidthMm, (item["face_width_mm"] as? NSNumber)?.doubleValue)
        assertClose(face.normalization.rotation.entries, try doubles(item["rotation"]), tolerance: 1e-9, "box R")
        assertClose(face.normalization.warp.entries, try doubles(item["warp"]), tolerance: 1e-9, "box warp")
        try assertSamePixels(face.pixels, item["warped_rgb_base64"], "box")
    }

    func testPitchYawVectorsFollowTheConvention() throws {
        let cases = try XCTUnwrap(geometry["pitchyaw_vectors"] as? [[String: Any]])
        for item in cases {
            let angles = try doubles(item["pitchyaw"])
            let gaze = GazeAngles(pitch: angles[0], yaw: angles[1])
            let v = gaze.vector
            assertClose([v.x, v.y, v.z], try doubles(item["vector"]), tolerance: 1e-12, "vector")
            let back = try GazeAngles(vector: 3 * v)
            assertClose([back.pitch, back.yaw], angles, tolerance: 1e-12, "round trip")
        }
        XCTAssertEqual(GazeAngles(pitch: 0, yaw: 0).vector, Vector3(-0.0, -0.0, -1))
    }

    func testDegenerateInputsAreGeometryErrors() throws {
        XCTAssertThrowsError(try GazeAngles(vector: .zero)) { XCTAssertEqual(($0 as? PrivateGazeError)?.isModelFileError, false) }
        let same = Point2(10, 10)
        let collapsed = FaceLandmarks6(
            rightEyeOuter: same, rightEyeInner: same, leftEyeInner: same, leftEyeOuter: same, mouthRight: same,
            mouthLeft: same
        )
        XCTAssertThrowsError(try normalizer.normalization(landmarks: collapsed, cameraMatrix: camera)) { error in
            guard case .geometry = error as? PrivateGazeError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try normalizer.normalization(
            box: FaceBox(x0: 10, y0: 10, x1: 11, y1: 40), cameraMatrix: camera,
            faceWidthMm: normalizer.faceModel.boxFaceWidthMm
        ))
        XCTAssertThrowsError(try Camera.checked(Matrix3.diagonal(0, 1, 1)))
    }

    /// The Swift warp reproduces Pillow's arithmetic; summation order may move a truncated value by one.
    private func assertSamePixels(_ image: RGBImage, _ base64: Any?, _ message: String) throws {
        let expected = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(base64 as? String)))
        XCTAssertEqual(image.bytes.count, expected.count, message)
        let differences = zip(image.bytes, expected).map { abs(Int($0) - Int($1)) }
        XCTAssertLessThanOrEqual(differences.max() ?? 0, 1, message)
        XCTAssertLessThanOrEqual(differences.filter { $0 > 0 }.count, expected.count / 100, message)
    }

    /// Reference landmarks (rows in the order of the face model's landmarks) by the face model's names.
    private func sixLandmarks(_ value: Any?) throws -> FaceLandmarks6 {
        let rows = try XCTUnwrap(value as? [[NSNumber]]).map { Point2($0[0].doubleValue, $0[1].doubleValue) }
        XCTAssertEqual(rows.count, 6)
        let named = Dictionary(uniqueKeysWithValues: zip(normalizer.faceModel.landmarks, rows))
        return FaceLandmarks6(
            rightEyeOuter: try XCTUnwrap(named["right_eye_outer"]),
            rightEyeInner: try XCTUnwrap(named["right_eye_inner"]),
            leftEyeInner: try XCTUnwrap(named["left_eye_inner"]),
            leftEyeOuter: try XCTUnwrap(named["left_eye_outer"]),
            mouthRight: try XCTUnwrap(named["mouth_right"]),
            mouthLeft: try XCTUnwrap(named["mouth_left"])
        )
    }
}
