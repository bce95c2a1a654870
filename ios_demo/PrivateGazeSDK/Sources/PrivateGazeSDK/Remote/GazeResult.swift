import Foundation

/// The gaze for one obfuscated face (`privategaze.result.GazeResult`).
public struct GazeResult: Sendable {
    /// (pitch, yaw) in the normalized camera frame: what the remote estimator returned, in this SDK's convention.
    public let pitchYaw: GazeAngles
    /// The same gaze rotated back into the real camera's frame, when the face's `Normalization` is known.
    public let cameraPitchYaw: GazeAngles?
    /// Time from sending the first request to the parsed answer, retries included.
    public let latencyMs: Double
    /// Requests made (1 when the first succeeded).
    public let attempts: Int
    /// The preserver artefact that obfuscated the face.
    public let model: String
    public let timestampMs: Int64?
    public let normalizationMethod: NormalizationMethod?
    public let intrinsics: IntrinsicsSource?

    /// The result for `face` of the remote's normalized-frame gaze, mapped to the camera when possible
    /// (`GazeResult.from_remote`).
    init(remote pitchYaw: GazeAngles, face: ObfuscatedFace, latencyMs: Double, attempts: Int) throws {
        self.pitchYaw = pitchYaw
        cameraPitchYaw = try face.normalization?.gazeToCamera(pitchYaw)
        self.latencyMs = latencyMs
        self.attempts = attempts
        model = face.model
        timestampMs = face.timestampMs
        normalizationMethod = face.normalizationMethod
        intrinsics = face.intrinsics
    }
}
