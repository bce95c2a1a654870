import Foundation

/// A gaze or head direction as (pitch, yaw) in radians, in the convention of `privategaze.geometry` (ETH-XGaze,
/// MPIIFaceGaze): camera frame x right, y down, z forward; the vector points from the face to the target,
/// `(-cos(pitch) sin(yaw), -sin(pitch), -cos(pitch) cos(yaw))`. Looking into the camera is (0, 0), looking up gives a
/// positive pitch, and a positive yaw points towards image-left.
public struct GazeAngles: Equatable, Sendable {
    public var pitch: Double
    public var yaw: Double

    public init(pitch: Double, yaw: Double) {
        self.pitch = pitch
        self.yaw = yaw
    }

    /// The unit direction vector (`pitchyaw_to_vector`).
    public var vector: Vector3 {
        Vector3(-cos(pitch) * sin(yaw), -sin(pitch), -cos(pitch) * cos(yaw))
    }

    /// The angles of a direction vector of any non-zero length (`vector_to_pitchyaw`).
    ///
    /// - Throws: `PrivateGazeError.geometry` for a zero or non-finite vector, which has no direction.
    public init(vector: Vector3) throws {
        let length = vector.norm
        guard length.isFinite, length > 0 else {
            throw PrivateGazeError.geometry(
                "a gaze vector must be finite and non-zero to have a direction, got (\(vector.x), \(vector.y), "
                    + "\(vector.z))"
            )
        }
        let unit = vector / length
        pitch = asin(min(max(-unit.y, -1), 1))
        yaw = atan2(-unit.x, -unit.z)
    }

    /// The angle in degrees between two directions, as `angular_error_deg`: atan2(|a x b|, a . b), which stays exact
    /// for nearly equal directions where an arccos of a rounded dot product would not.
    public func angularDistanceDeg(to other: GazeAngles) -> Double {
        let a = vector, b = other.vector
        return atan2(a.cross(b).norm, a.dot(b)) * 180 / Double.pi
    }
}
