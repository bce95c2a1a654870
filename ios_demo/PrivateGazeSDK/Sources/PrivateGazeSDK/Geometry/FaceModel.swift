import Foundation

/// The 3-D face model head pose is fitted to, and the face width a detector box is assumed to span: the manifest's
/// `face_model` block (`privategaze.face.FaceModel`, written by pgz-export). None of its numbers are written into this
/// code: the model of the artefact is the model the face is normalized with.
public struct FaceModel: Codable, Equatable, Sendable {
    /// The six landmark names (those of `FaceLandmarks6.names`, each once), in the row order of `pointsMm`.
    public let landmarks: [String]
    /// One (x, y, z) row per landmark in mm, head coordinates (x right, y down, z towards the back of the head),
    /// centred on the face centre (ETH-XGaze's: the mean of the eye-corner centre and the mouth-corner centre) so that
    /// a head pose's translation is the face centre; pgz-export checks that, and so does `validate()` (within
    /// `centredWithinMm`), since `FaceNormalizer` takes the translation as the face centre.
    public let pointsMm: [[Double]]
    /// Width of a face-detector box around an adult face in mm, used only to guess the distance from a box.
    public let boxFaceWidthMm: Double

    enum CodingKeys: String, CodingKey {
        case landmarks
        case pointsMm = "points_mm"
        case boxFaceWidthMm = "box_face_width_mm"
    }

    /// How far from the origin the face centre of `pointsMm` may lie, in mm: Python's
    /// `privategaze.face._CENTRED_WITHIN_MM` (the manifest does not carry it; tests/test_ios_demo.py checks that the
    /// two agree).
    static let centredWithinMm = 1e-6

    public init(landmarks: [String], pointsMm: [[Double]], boxFaceWidthMm: Double) {
        self.landmarks = landmarks
        self.pointsMm = pointsMm
        self.boxFaceWidthMm = boxFaceWidthMm
    }

    /// The model's points, row for row (in the order of `landmarks`), for a validated model (`Manifest.decode`
    /// validates it).
    public var points: [Vector3] {
        pointsMm.map { Vector3($0[0], $0[1], $0[2]) }
    }

    /// The checks `FaceModel.__post_init__` makes that this side relies on.
    func validate() throws {
        guard landmarks.count == 6, Set(landmarks) == FaceLandmarks6.names else {
            throw PrivateGazeError.manifest(
                "face_model.landmarks must name each of \(FaceLandmarks6.names.sorted()) once, got \(landmarks)"
            )
        }
        guard pointsMm.count == 6, pointsMm.allSatisfy({ $0.count == 3 && $0.allSatisfy(\.isFinite) }) else {
            throw PrivateGazeError.manifest(
                "face_model.points_mm must be 6 rows of 3 finite numbers (mm), got \(pointsMm)"
            )
        }
        guard boxFaceWidthMm.isFinite, boxFaceWidthMm > 0 else {
            throw PrivateGazeError.manifest(
                "face_model.box_face_width_mm must be a positive finite number, got \(boxFaceWidthMm)"
            )
        }
        var eyeSum = Vector3.zero
        var mouthSum = Vector3.zero
        for (name, point) in zip(landmarks, points) {
            if name.hasPrefix("mouth_") {
                mouthSum = mouthSum + point
            } else {
                eyeSum = eyeSum + point
            }
        }
        let center = 0.5 * (eyeSum / 4 + mouthSum / 2)  // four eye corners, two mouth corners (checked above)
        guard center.norm <= Self.centredWithinMm else {
            throw PrivateGazeError.manifest(
                "face_model.points_mm must be centred on the face centre (the mean of the eye-corner centre and the "
                    + "mouth-corner centre), which lies at [\(center.x), \(center.y), \(center.z)] mm: a head pose's "
                    + "translation is taken as the face centre"
            )
        }
    }
}

/// The six landmarks of the face model, in pixels of the frame (x right, y down, pixel centres at integers).
///
/// "Right" and "left" are the subject's: in an unmirrored camera frame of a person facing the camera, the subject's
/// right eye is on the image's left. dlib-68 landmarks 36, 39, 42, 45, 48, 54 and MediaPipe Face Mesh 33, 133, 362,
/// 263, 61, 291 are these points; `VisionLandmarks` takes them from Apple's Vision. Which point is which row of the
/// face model is the manifest's to say (`FaceModel.landmarks`), by the names of `named`.
public struct FaceLandmarks6: Equatable, Sendable {
    public var rightEyeOuter: Point2
    public var rightEyeInner: Point2
    public var leftEyeInner: Point2
    public var leftEyeOuter: Point2
    public var mouthRight: Point2
    public var mouthLeft: Point2

    public init(
        rightEyeOuter: Point2, rightEyeInner: Point2, leftEyeInner: Point2, leftEyeOuter: Point2,
        mouthRight: Point2, mouthLeft: Point2
    ) {
        self.rightEyeOuter = rightEyeOuter
        self.rightEyeInner = rightEyeInner
        self.leftEyeInner = leftEyeInner
        self.leftEyeOuter = leftEyeOuter
        self.mouthRight = mouthRight
        self.mouthLeft = mouthLeft
    }

    /// The points under the names pgz-export gives them in the manifest's `face_model.landmarks`.
    public var named: [String: Point2] {
        [
            "right_eye_outer": rightEyeOuter,
            "right_eye_inner": rightEyeInner,
            "left_eye_inner": leftEyeInner,
            "left_eye_outer": leftEyeOuter,
            "mouth_right": mouthRight,
            "mouth_left": mouthLeft,
        ]
    }

    /// The names a face model's landmarks may have: those of `named`.
    public static var names: Set<String> {
        let origin = Point2(0, 0)
        let any = FaceLandmarks6(
            rightEyeOuter: origin, rightEyeInner: origin, leftEyeInner: origin, leftEyeOuter: origin,
            mouthRight: origin, mouthLeft: origin
        )
        return Set(any.named.keys)
    }

    /// All six points, to draw them; the head pose takes them in the face model's order (`points(in:)`).
    public var points: [Point2] {
        [rightEyeOuter, rightEyeInner, leftEyeInner, leftEyeOuter, mouthRight, mouthLeft]
    }

    /// The points in the row order of `model`'s landmarks.
    ///
    /// - Throws: `PrivateGazeError.geometry` when the model names a landmark this type does not have.
    public func points(in model: FaceModel) throws -> [Point2] {
        let named = self.named
        return try model.landmarks.map { (name: String) throws -> Point2 in
            guard let point = named[name] else {
                throw PrivateGazeError.geometry(
                    "the face model names landmark '\(name)'; this SDK knows \(FaceLandmarks6.names.sorted())"
                )
            }
            return point
        }
    }
}
