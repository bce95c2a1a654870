import Foundation

/// An obfuscated face made by a `Preserver`: the only kind of image `GazeClient` sends (`ObfuscatedImage` in Python).
///
/// The egress rule, raw pixels never leave the device, is built into the types. The initializer is internal to this
/// module, whose only caller is `Preserver.obfuscate`, so app code cannot wrap a camera frame or a raw normalized face
/// in one; `GazeClient.estimate` and `GazeAPI.makeRequest` take nothing else. Python can only refuse a raw image at
/// run time (`EgressError`); here it does not compile. The pixels are an immutable value copy of the model's output.
public struct ObfuscatedFace: Sendable {
    /// The obfuscated face, `size` pixels square.
    public let pixels: RGBImage
    /// The artefact that made it (the manifest's `name`).
    public let model: String
    /// The black box the preserver was trained for, from the manifest.
    public let blackbox: String?
    /// The anchor face it imitates, from the manifest.
    public let anchorSha256: String?
    /// The normalization of the frame it came from; maps the remote gaze back to camera coordinates.
    public let normalization: Normalization?
    /// The frame's timestamp, for video.
    public let timestampMs: Int64?
    public let normalizationMethod: NormalizationMethod?
    public let intrinsics: IntrinsicsSource?

    init(
        pixels: RGBImage,
        model: String,
        blackbox: String?,
        anchorSha256: String?,
        normalization: Normalization?,
        timestampMs: Int64?,
        normalizationMethod: NormalizationMethod?,
        intrinsics: IntrinsicsSource?
    ) {
        self.pixels = pixels
        self.model = model
        self.blackbox = blackbox
        self.anchorSha256 = anchorSha256
        self.normalization = normalization
        self.timestampMs = timestampMs
        self.normalizationMethod = normalizationMethod
        self.intrinsics = intrinsics
    }

    /// Side of the square image in pixels.
    public var size: Int { pixels.width }

    /// The image as an 8-bit RGB PNG, the form remote APIs take.
    public func pngData() -> Data {
        PNGEncoder.encode(pixels)
    }
}
