import Foundation

/// One face's data normalization (Zhang, Sugano and Bulling, ETRA 2018, as ETH-XGaze implements it): a virtual
/// camera looks straight at the face centre with its x-axis aligned to the head's. The image is warped by
/// `K_norm S R_n K⁻¹`; gaze is rotated by `R_n` only. `privategaze.geometry.Normalization` on this side.
public struct Normalization: Equatable, Sendable {
    /// Homography from original-image pixels to normalized-image pixels.
    public let warp: Matrix3
    /// R_n, the rotation from the camera frame to the normalized frame (rows: its x, y, z axes).
    public let rotation: Matrix3
    /// S = diag(1, 1, distance_mm / |face centre|).
    public let scaleMatrix: Matrix3
    /// Intrinsics of the virtual camera.
    public let cameraMatrixNorm: Matrix3
    /// Side of the square normalized image in pixels.
    public let size: Int
    /// The head rotation (head -> camera) it was computed from.
    public let headRotation: Matrix3
    /// The face centre in camera coordinates, mm.
    public let faceCenterMm: Vector3

    /// Normalization of one face from its head pose (`normalize_from_pose`), with the manifest's virtual camera.
    ///
    /// - Throws: `PrivateGazeError.geometry` for a malformed camera matrix or rotation, a face behind the camera, or
    ///   a head whose x-axis points along the line of sight (no unique normalized roll).
    public init(cameraMatrix: Matrix3, headRotation: Matrix3, faceCenterMm: Vector3, spec: NormalizationSpec) throws {
        let camera = try Camera.checked(cameraMatrix)
        let head = try Self.checkedRotation(headRotation)
        guard faceCenterMm.isFinite, faceCenterMm.z > 0 else {
            throw PrivateGazeError.geometry(
                "the face centre must be in front of the camera (z > 0), got (\(faceCenterMm.x), \(faceCenterMm.y), "
                    + "\(faceCenterMm.z)) mm"
            )
        }
        let distance = faceCenterMm.norm
        let zAxis = faceCenterMm / distance
        let headX = head.column(0)
        var xAxis = headX - headX.dot(zAxis) * zAxis
        guard xAxis.norm >= 1e-6 else {
            throw PrivateGazeError.geometry(
                "the head's x-axis is parallel to the line of sight; the normalized roll is undefined"
            )
        }
        xAxis = xAxis / xAxis.norm
        guard let cameraInverse = camera.inverse else {
            throw PrivateGazeError.geometry("the camera matrix is singular")
        }
        let normalizedRotation = Matrix3(rows: xAxis, zAxis.cross(xAxis), zAxis)
        let scale = Matrix3.diagonal(1, 1, spec.distanceMm / distance)
        let half = Double(spec.size) / 2
        let virtualCamera = Matrix3(
            rows: Vector3(spec.focalPx, 0, half), Vector3(0, spec.focalPx, half), Vector3(0, 0, 1)
        )
        warp = virtualCamera * scale * normalizedRotation * cameraInverse
        rotation = normalizedRotation
        scaleMatrix = scale
        cameraMatrixNorm = virtualCamera
        size = spec.size
        self.headRotation = head
        self.faceCenterMm = faceCenterMm
    }

    /// The head rotation seen from the virtual camera, `R_n R_head`.
    public var headRotationNormalized: Matrix3 { rotation * headRotation }

    /// Camera-frame gaze rotated into the normalized frame.
    public func gazeToNormalized(_ gaze: GazeAngles) throws -> GazeAngles {
        try GazeAngles(vector: rotation * gaze.vector)
    }

    /// Normalized-frame gaze (what the remote estimator returns) rotated back into the camera frame.
    public func gazeToCamera(_ gaze: GazeAngles) throws -> GazeAngles {
        try GazeAngles(vector: rotation.transposed * gaze.vector)
    }

    /// Original-image pixel coordinates -> normalized-image pixel coordinates.
    public func warpPoint(_ point: Point2) -> Point2 {
        let mapped = warp * Vector3(point.x, point.y, 1)
        return Point2(mapped.x / mapped.z, mapped.y / mapped.z)
    }

    /// `rotation` if it is a rotation matrix (orthonormal to 1e-4, determinant +1), as `_check_rotation` tests.
    static func checkedRotation(_ rotation: Matrix3) throws -> Matrix3 {
        let product = rotation * rotation.transposed
        let orthonormal = (0..<9).allSatisfy { index in
            let expected = index % 4 == 0 ? 1.0 : 0.0  // the diagonal of a row-major 3x3 is at 0, 4, 8
            return abs(product.entries[index] - expected) <= 1e-4 + 1e-5 * abs(expected)
        }
        guard rotation.isFinite, orthonormal, rotation.determinant > 0 else {
            throw PrivateGazeError.geometry("the head rotation must be a rotation matrix (orthonormal, det +1)")
        }
        return rotation
    }
}
