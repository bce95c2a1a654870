// One camera frame through the SDK: Vision's landmarks, the normalization with the model's virtual camera, the
// preserver, and (one request at a time) the gaze client. Runs on the camera's queue; results go to the Live tab.

import CoreGraphics
import CoreVideo
import Foundation
import PrivateGazeSDK

/// What one frame produced, for the screen.
struct FrameResult {
    var frame: CGImage?
    var frameSize = CGSize.zero
    var landmarks: [CGPoint] = []
    var rawFace: CGImage?
    var obfuscatedFace: CGImage?
    var method: NormalizationMethod?
    var problem: String?
}

/// A gaze the service returned, with its arrow in frame pixels: from the face centre along the camera-frame gaze.
struct GazeUpdate {
    var result: GazeResult
    var arrowStart: CGPoint?
    var arrowEnd: CGPoint?
}

final class FrameProcessor: @unchecked Sendable {
    /// How long the camera-frame arrow is, in mm from the face centre.
    private static let arrowLengthMm = 120.0

    private let detector = VisionFaceDetector()
    private let lock = NSLock()
    private var preserver: Preserver?
    private var client: GazeClient?
    private var requestInFlight = false
    /// Bumped by every `configure` (a restart, or a stop with nils): the answer to a request sent under an earlier
    /// configuration is dropped, and that request no longer holds back the new configuration's first one.
    private var generation = 0
    private var onFrame: ((FrameResult) -> Void)?
    private var onGaze: ((Result<GazeUpdate, Error>) -> Void)?

    func configure(
        preserver: Preserver?,
        client: GazeClient?,
        onFrame: ((FrameResult) -> Void)?,
        onGaze: ((Result<GazeUpdate, Error>) -> Void)?
    ) {
        lock.lock()
        defer { lock.unlock() }
        self.preserver = preserver
        self.client = client
        self.onFrame = onFrame
        self.onGaze = onGaze
        generation += 1
        requestInFlight = false
    }

    /// Detect, normalize and obfuscate one frame; send the obfuscated face unless a request is still out.
    func process(_ buffer: CVPixelBuffer, timestampMs: Int64) {
        lock.lock()
        let preserver = self.preserver, client = self.client, onFrame = self.onFrame
        lock.unlock()
        guard let preserver, let onFrame else { return }
        var result = FrameResult(
            frame: FrameImages.cgImage(buffer),
            frameSize: CGSize(width: CVPixelBufferGetWidth(buffer), height: CVPixelBufferGetHeight(buffer))
        )
        do {
            guard let face = try detector.largestFace(in: buffer) else {
                result.problem = "No face in view"
                onFrame(result)
                return
            }
            let normalizer = preserver.normalizer
            let normalized = try PixelBuffers.withView(buffer) { frame -> NormalizedFace in
                if let landmarks = face.landmarks { return try normalizer.normalize(frame, landmarks: landmarks) }
                return try normalizer.normalize(frame, box: face.box)
            }
            let obfuscated = try preserver.obfuscate(normalized, timestampMs: timestampMs)
            result.landmarks = (face.landmarks?.points ?? []).map { CGPoint(x: $0.x, y: $0.y) }
            result.rawFace = FrameImages.cgImage(normalized.pixels)
            result.obfuscatedFace = FrameImages.cgImage(obfuscated.pixels)
            result.method = normalized.method
            onFrame(result)
            if let client { send(obfuscated, with: client, frameSize: result.frameSize) }
        } catch {
            result.problem = Self.describe(error)
            onFrame(result)
        }
    }

    /// At most one request at a time: frames obfuscated meanwhile are shown but not sent, so a slow service sees
    /// the newest face next rather than a queue of old ones.
    private func send(_ face: ObfuscatedFace, with client: GazeClient, frameSize: CGSize) {
        lock.lock()
        guard !requestInFlight, onGaze != nil else {
            lock.unlock()
            return
        }
        requestInFlight = true
        let issued = generation
        lock.unlock()
        Task.detached { [weak self] in
            let outcome: Result<GazeUpdate, Error>
            do {
                let result = try await client.estimate(face)
                let arrow = Self.arrow(result, face: face, frameSize: frameSize)
                outcome = .success(GazeUpdate(result: result, arrowStart: arrow?.0, arrowEnd: arrow?.1))
            } catch {
                outcome = .failure(error)
            }
            self?.finishRequest(issued, with: outcome)
        }
    }

    /// Ends the request sent under configuration `issued` and hands its outcome to the current `onGaze`, unless the
    /// processor was reconfigured or stopped meanwhile: then the outcome is dropped. Delivered under the lock, so that
    /// once `configure` returns no outcome of an earlier configuration can still arrive (`onGaze` only hops to the
    /// main actor; it does not call back into the processor).
    private func finishRequest(_ issued: Int, with outcome: Result<GazeUpdate, Error>) {
        lock.lock()
        defer { lock.unlock() }
        guard issued == generation else { return }
        requestInFlight = false
        onGaze?(outcome)
    }

    /// The face centre and a point `arrowLengthMm` along the camera-frame gaze, projected with the intrinsics the
    /// normalization used (the default guess: `GazeResult.intrinsics` says so).
    private static func arrow(_ result: GazeResult, face: ObfuscatedFace, frameSize: CGSize) -> (CGPoint, CGPoint)? {
        guard let gaze = result.cameraPitchYaw, let center = face.normalization?.faceCenterMm,
              let camera = try? Camera.defaultMatrix(width: Int(frameSize.width), height: Int(frameSize.height))
        else { return nil }
        func project(_ point: Vector3) -> CGPoint? {
            let pixel = camera * point
            guard pixel.z > 0 else { return nil }
            return CGPoint(x: pixel.x / pixel.z, y: pixel.y / pixel.z)
        }
        guard let start = project(center), let end = project(center + arrowLengthMm * gaze.vector) else { return nil }
        return (start, end)
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? PrivateGazeError { return error.message }
        return error.localizedDescription
    }
}
