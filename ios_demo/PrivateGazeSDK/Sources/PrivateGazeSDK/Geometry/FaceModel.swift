import Foundation

/// The 3-D face model head pose is fitted to, and the six landmarks it needs.
///
/// The numbers are MPIIGaze's generic 6-point face model in mm (`faceModelGeneric.mat`, also used by the ETH-XGaze
/// and RT-GENE normalization code): a published constant of the method, not a property of an exported model, so the
/// manifest does not carry it. They are `_MPIIGAZE_FACE_MODEL` of `sdk_python/privategaze/geometry.py` digit for
/// digit; tests/test_ios_demo.py fails if the two ever differ.
public enum FaceModel {
    /// One row per point, in image left-to-right order for a frontal face: the subject's right eye outer and inner
    /// corner, left eye inner and outer corner, right and left mouth corner.
    static let mpiiGazeGeneric: [Vector3] = [
        Vector3(-45.0967681126441, -0.483773045049757, 2.39702984214363),
        Vector3(-21.3128582097374, 0.483773045049757, -2.39702984214363),
        Vector3(21.3128582097374, 0.483773045049757, -2.39702984214363),
        Vector3(45.0967681126441, -0.483773045049757, 2.39702984214363),
        Vector3(-26.2995769055718, 68.5950352778326, 0.0),
        Vector3(26.2995769055718, 68.5950352778326, 0.0),
    ]

    /// The model re-centred on its face centre, so that a pose's translation is the face centre itself
    /// (`FACE_MODEL_6PT`).
    public static let sixPoint: [Vector3] = {
        let center = FaceModel.faceCenter(of: FaceModel.mpiiGazeGeneric)
        return FaceModel.mpiiGazeGeneric.map { $0 - center }
    }()

    /// ETH-XGaze's face centre: the mean of the eye-corner centre and the mouth-corner centre, not of all six points.
    static func faceCenter(of model: [Vector3]) -> Vector3 {
        let eyes = (model[0] + model[1] + model[2] + model[3]) / 4
        let mouth = (model[4] + model[5]) / 2
        return 0.5 * (eyes + mouth)
    }
}

/// The six landmarks of `FaceModel.sixPoint`, in pixels of the frame (x right, y down, pixel centres at integers).
///
/// "Right" and "left" are the subject's: in an unmirrored camera frame of a person facing the camera, the subject's
/// right eye is on the image's left. dlib-68 landmarks 36, 39, 42, 45, 48, 54 and MediaPipe Face Mesh 33, 133, 362,
/// 263, 61, 291 are these points; `VisionLandmarks` takes them from Apple's Vision.
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

    /// The points in `FaceModel.sixPoint` order.
    public var points: [Point2] {
        [rightEyeOuter, rightEyeInner, leftEyeInner, leftEyeOuter, mouthRight, mouthLeft]
    }
}
