// The front camera as a stream of upright, unmirrored BGRA frames: what Vision's landmarks and the face normalization
// need. The screen mirrors the picture for a selfie view; the frames themselves stay unmirrored, because a mirrored
// face would put the subject's right eye where the face model expects the left one.

import AVFoundation
import CoreVideo
import Foundation

final class CameraFeed: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate, @unchecked Sendable {
    /// One frame and its capture time in milliseconds.
    typealias FrameHandler = (CVPixelBuffer, Int64) -> Void

    private let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "privategaze.camera", qos: .userInitiated)
    private let lock = NSLock()
    private var handler: FrameHandler?
    private var configured = false
    /// Bumped by every `stop` (under `lock`): a start whose token was taken before a stop does nothing.
    private var generation = 0

    static func requestAccess() async -> Bool {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized: return true
        case .notDetermined: return await AVCaptureDevice.requestAccess(for: .video)
        default: return false
        }
    }

    /// What to pass to `start`, taken where the start is decided (on the main actor): a `stop()` after it makes that
    /// start do nothing, however late its work reaches the camera queue.
    func startToken() -> Int {
        lock.lock()
        defer { lock.unlock() }
        return generation
    }

    /// Start delivering frames to `handler` on the camera's serial queue; frames that arrive while the handler is
    /// still busy are dropped by the output (`alwaysDiscardsLateVideoFrames`), so the newest frame is always next.
    /// Does nothing when `stop()` was called after `token` was taken (`startToken()`).
    ///
    /// Blocking: it waits on the camera queue (`queue.sync`) for the session to be configured and running, which
    /// takes a noticeable time. Never call it on the main thread (the UI would freeze); `LiveGazeModel` calls it from
    /// a detached task. Nor on the camera queue itself, in a frame handler: `queue.sync` there would deadlock.
    ///
    /// - Throws: `CameraError` when there is no front camera or the session cannot use it.
    func start(token: Int, _ handler: @escaping FrameHandler) throws {
        dispatchPrecondition(condition: .notOnQueue(queue))
        lock.lock()
        guard token == generation else {  // checked and set under one lock: a stop() cannot fall in between
            lock.unlock()
            return
        }
        self.handler = handler
        lock.unlock()
        try queue.sync {
            if !configured {
                try configure()
                configured = true
            }
            // A stop() since has queued its work before this block, so the session must stay stopped.
            if isCurrent(token) && !session.isRunning { session.startRunning() }  // blocking: never on the main thread
        }
    }

    private func isCurrent(_ token: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return token == generation
    }

    /// Stop the frames and the session; returns at once (the session stops on the camera queue).
    func stop() {
        lock.lock()
        handler = nil
        generation += 1
        lock.unlock()
        queue.async { [session] in
            if session.isRunning { session.stopRunning() }
        }
    }

    private func configure() throws {
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .front) else {
            throw CameraError.noFrontCamera
        }
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        // 640x480 is plenty for a face filling part of the frame, and keeps Vision and the warp cheap.
        if session.canSetSessionPreset(.vga640x480) { session.sessionPreset = .vga640x480 }
        let input = try AVCaptureDeviceInput(device: device)
        guard session.canAddInput(input) else { throw CameraError.unusable("the session refuses the front camera") }
        session.addInput(input)
        let output = AVCaptureVideoDataOutput()
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: queue)
        guard session.canAddOutput(output) else { throw CameraError.unusable("the session refuses a video output") }
        session.addOutput(output)
        if let connection = output.connection(with: .video) {
            if connection.isVideoRotationAngleSupported(90) { connection.videoRotationAngle = 90 }  // portrait, upright
            if connection.isVideoMirroringSupported {
                connection.automaticallyAdjustsVideoMirroring = false
                connection.isVideoMirrored = false
            }
        }
    }

    func captureOutput(
        _ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection
    ) {
        guard let pixels = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        lock.lock()
        let handler = self.handler
        lock.unlock()
        let time = CMSampleBufferGetPresentationTimeStamp(sampleBuffer)
        handler?(pixels, time.isValid ? Int64(CMTimeGetSeconds(time) * 1000) : 0)
    }
}

enum CameraError: LocalizedError {
    case noFrontCamera
    case unusable(String)

    var errorDescription: String? {
        switch self {
        case .noFrontCamera: return "this device has no front camera (the simulator has none either)"
        case let .unusable(why): return "the camera cannot be used: \(why)"
        }
    }
}
