import Foundation

/// How a face was normalized, as `ObfuscatedImage.normalization_method` names it.
public enum NormalizationMethod: String, Sendable {
    /// Six landmarks: head pose by PnP. The accurate path.
    case landmarks
    /// A face box only: a frontal head assumed, the distance from the box width.
    case box
    /// Normalized elsewhere; its `Normalization` was passed in.
    case external
}

/// Where the camera intrinsics came from, as `ObfuscatedImage.intrinsics` names it.
public enum IntrinsicsSource: String, Sendable {
    /// A camera matrix was passed in.
    case given
    /// `Camera.defaultMatrix` was assumed.
    case assumedDefault = "default"
}

/// A face box in frame pixels (x right, y down).
public struct FaceBox: Equatable, Sendable {
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }
}

/// A normalized face and how it was made. Its pixels are the *raw* face: the app may show them on screen, but the
/// gaze client does not accept this type; `Preserver.obfuscate` turns it into an `ObfuscatedFace`.
public struct NormalizedFace: Sendable {
    /// The face in the virtual camera, `normalization.size` pixels square.
    public let pixels: RGBImage
    /// The warp and rotation; `normalization.gazeToCamera` maps the remote gaze to the camera frame.
    public let normalization: Normalization
    public let method: NormalizationMethod
    public let intrinsics: IntrinsicsSource
}

/// Face normalization from what a phone's face detector gives (`privategaze.face` on this side): six landmarks, or
/// only a face box, always with the virtual camera and the face model of the model's manifest.
public struct FaceNormalizer: Sendable {
    /// The manifest's virtual camera.
    public let spec: NormalizationSpec
    /// The manifest's face model: the 3-D points head pose is fitted to, and the face width a box is assumed to span.
    public let faceModel: FaceModel

    public init(spec: NormalizationSpec, faceModel: FaceModel) {
        self.spec = spec
        self.faceModel = faceModel
    }

    /// Normalize the face in `frame` from its six landmarks (head pose by PnP).
    ///
    /// - Parameters:
    ///   - cameraMatrix: The frame's intrinsics; `Camera.defaultMatrix` when nil (the result says so).
    ///   - distortion: The camera's lens distortion when the frame is not undistorted already.
    /// - Throws: `PrivateGazeError.geometry` when no valid head pose fits the landmarks.
    public func normalize<Frame: PixelSource>(
        _ frame: Frame,
        landmarks: FaceLandmarks6,
        cameraMatrix: Matrix3? = nil,
        distortion: DistortionCoefficients? = nil
    ) throws -> NormalizedFace {
        let (camera, intrinsics) = try Self.camera(cameraMatrix, width: frame.width, height: frame.height)
        let normalization = try normalization(landmarks: landmarks, cameraMatrix: camera, distortion: distortion)
        let pixels = try FaceWarp.warp(frame, normalization: normalization)
        return NormalizedFace(pixels: pixels, normalization: normalization, method: .landmarks, intrinsics: intrinsics)
    }

    /// Normalize the face in `frame` from a face box alone: the head is assumed to face the camera (no roll, its
    /// x-axis along the camera's), the face centre is the box centre and its distance comes from the box width and
    /// `faceWidthMm` (by default the face model's `boxFaceWidthMm`). Gaze is then relative to that assumed pose:
    /// expect a few degrees more error when the head turns, and prefer landmarks. The frame must be undistorted.
    ///
    /// - Throws: `PrivateGazeError.geometry` for a malformed or degenerate box.
    public func normalize<Frame: PixelSource>(
        _ frame: Frame,
        box: FaceBox,
        cameraMatrix: Matrix3? = nil,
        faceWidthMm: Double? = nil
    ) throws -> NormalizedFace {
        let (camera, intrinsics) = try Self.camera(cameraMatrix, width: frame.width, height: frame.height)
        let width = faceWidthMm ?? faceModel.boxFaceWidthMm
        let normalization = try normalization(box: box, cameraMatrix: camera, faceWidthMm: width)
        let pixels = try FaceWarp.warp(frame, normalization: normalization)
        return NormalizedFace(pixels: pixels, normalization: normalization, method: .box, intrinsics: intrinsics)
    }

    /// The geometry of the landmark path alone (`normalize_from_landmarks`), without pixels: head pose by PnP
    /// against the face model, its rows matched to the landmarks by name.
    public func normalization(
        landmarks: FaceLandmarks6, cameraMatrix: Matrix3, distortion: DistortionCoefficients? = nil
    ) throws -> Normalization {
        try faceModel.validate()
        let points = try landmarks.points(in: faceModel)
        let pose = try HeadPoseEstimator.estimate(
            landmarks: points, model: faceModel.points, cameraMatrix: cameraMatrix, distortion: distortion
        )
        // The face model is centred on the face centre (`face.FaceModel` checks it), so the pose's translation is the
        // face centre (`face_center_from_model` up to rounding).
        return try Normalization(
            cameraMatrix: cameraMatrix, headRotation: pose.rotation, faceCenterMm: pose.translation, spec: spec
        )
    }

    /// The geometry of the box path alone (`face._normalize_from_box`), without pixels.
    public func normalization(box: FaceBox, cameraMatrix: Matrix3, faceWidthMm: Double) throws -> Normalization {
        let values = [box.x0, box.y0, box.x1, box.y1]
        guard values.allSatisfy(\.isFinite) else {
            throw PrivateGazeError.geometry("a face box must be 4 finite numbers (x0, y0, x1, y1) in pixels, got \(values)")
        }
        guard box.x1 - box.x0 >= 2, box.y1 - box.y0 >= 2 else {
            throw PrivateGazeError.geometry("a face box must have x1 > x0 and y1 > y0 (at least 2 px), got \(values)")
        }
        guard faceWidthMm.isFinite, faceWidthMm > 0 else {
            throw PrivateGazeError.geometry("faceWidthMm must be a positive number, got \(faceWidthMm)")
        }
        let camera = try Camera.checked(cameraMatrix)
        guard let inverse = camera.inverse else { throw PrivateGazeError.geometry("the camera matrix is singular") }
        // Pinhole model: a face of known width spanning (x1 - x0) pixels lies at depth f * width / pixels.
        let depth = camera[0, 0] * faceWidthMm / (box.x1 - box.x0)
        let ray = inverse * Vector3((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, 1)
        return try Normalization(cameraMatrix: camera, headRotation: .identity, faceCenterMm: depth * ray, spec: spec)
    }

    private static func camera(_ given: Matrix3?, width: Int, height: Int) throws -> (Matrix3, IntrinsicsSource) {
        if let given { return (try Camera.checked(given), .given) }
        return (try Camera.defaultMatrix(width: width, height: height), .assumedDefault)
    }
}
