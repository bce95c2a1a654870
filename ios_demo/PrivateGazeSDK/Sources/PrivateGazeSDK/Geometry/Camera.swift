import Foundation

/// Camera intrinsics as `privategaze.geometry` handles them: a 3x3 matrix `[[fx, s, cx], [0, fy, cy], [0, 0, 1]]` with
/// pixel centres at integer coordinates (OpenCV), and optionally OpenCV's distortion coefficients.
public enum Camera {
    /// `cameraMatrix` if it is an intrinsics matrix (`check_camera_matrix`).
    ///
    /// - Throws: `PrivateGazeError.geometry` otherwise.
    public static func checked(_ cameraMatrix: Matrix3) throws -> Matrix3 {
        let k = cameraMatrix
        let lastRowIsUnit = abs(k[2, 0]) <= 1e-8 && abs(k[2, 1]) <= 1e-8 && abs(k[2, 2] - 1) <= 1e-5 + 1e-8
        guard k.isFinite, k[0, 0] > 0, k[1, 1] > 0, lastRowIsUnit else {
            throw PrivateGazeError.geometry(
                "the camera matrix must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0, got \(k.entries)"
            )
        }
        return k
    }

    /// Intrinsics to assume when a camera's are unknown (`default_camera_matrix`): focal length = the longer image
    /// side, principal point at the centre. That is a ~53 degree field of view across the longer side, typical of
    /// phone cameras; normalization degrades gracefully when the guess is off by tens of percent.
    ///
    /// - Throws: `PrivateGazeError.geometry` for a non-positive size.
    public static func defaultMatrix(width: Int, height: Int) throws -> Matrix3 {
        guard width > 0, height > 0 else {
            throw PrivateGazeError.geometry("width and height must be positive pixels, got \(width) x \(height)")
        }
        let focal = Double(max(width, height))
        return Matrix3(
            rows: Vector3(focal, 0, Double(width - 1) / 2),
            Vector3(0, focal, Double(height - 1) / 2),
            Vector3(0, 0, 1)
        )
    }
}

/// OpenCV's lens distortion (k1, k2, p1, p2, k3) of a camera whose frames are not undistorted already.
public struct DistortionCoefficients: Equatable, Sendable {
    public var k1: Double
    public var k2: Double
    public var p1: Double
    public var p2: Double
    public var k3: Double

    public init(k1: Double, k2: Double, p1: Double, p2: Double, k3: Double = 0) {
        self.k1 = k1
        self.k2 = k2
        self.p1 = p1
        self.p2 = p2
        self.k3 = k3
    }

    var isFinite: Bool { [k1, k2, p1, p2, k3].allSatisfy(\.isFinite) }

    /// Ideal normalized image coordinates of a distorted one: the fixed-point iteration of OpenCV's
    /// `undistortPoints` (20 rounds), as `geometry._undistort` runs it.
    func undistort(_ distorted: Point2) -> Point2 {
        var ideal = distorted
        for _ in 0..<20 {
            let x = ideal.x, y = ideal.y
            let r2 = x * x + y * y
            let radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
            let tangentialX = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
            let tangentialY = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
            ideal = Point2((distorted.x - tangentialX) / radial, (distorted.y - tangentialY) / radial)
        }
        return ideal
    }
}
