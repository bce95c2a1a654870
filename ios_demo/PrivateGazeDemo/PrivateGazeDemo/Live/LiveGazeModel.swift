// The Live tab's state: loads the chosen preserver, builds the gaze client from the settings, runs the camera, and
// publishes what each frame and each answer produced.

import CoreGraphics
import Foundation
import PrivateGazeSDK

@MainActor
final class LiveGazeModel: ObservableObject {
    @Published private(set) var frame = FrameResult()
    @Published private(set) var gaze: GazeUpdate?
    @Published private(set) var status = "Starting…"
    @Published private(set) var serviceProblem: String?
    @Published private(set) var modelName: String?

    private let camera = CameraFeed()
    private let processor = FrameProcessor()

    /// Start (or restart) the session with `configuration`; returns once the camera runs or a problem is shown.
    func start(_ configuration: LiveConfiguration) async {
        stop()
        gaze = nil
        serviceProblem = nil
        guard await CameraFeed.requestAccess() else {
            status = "Camera access is off: allow it in Settings > Privacy & Security > Camera."
            return
        }
        let models = BenchmarkModel.discover(documents: FileManager.default.documentsURL)
        guard let chosen = configuration.model(in: models) else {
            status = "No Core ML preserver in the app: export one with pgz-export --target coreml (ios_demo/README.md)."
            return
        }
        status = "Loading \(chosen.packageFileName)…"
        do {
            let preserver = try await Preserver.load(
                contentsOf: chosen.url, sidecar: chosen.sidecarURL, computeUnits: configuration.units
            )
            let client = try configuration.makeClient()
            modelName = preserver.manifest.name
            processor.configure(
                preserver: preserver,
                client: client,
                onFrame: { [weak self] result in Task { @MainActor in self?.show(result) } },
                onGaze: { [weak self] outcome in Task { @MainActor in self?.show(outcome) } }
            )
            let camera = self.camera, processor = self.processor
            try await Task.detached {  // startRunning blocks until the camera runs: off the main thread
                try camera.start { buffer, timestampMs in processor.process(buffer, timestampMs: timestampMs) }
            }.value
            status = client == nil
                ? "No gaze API set (Settings): faces are obfuscated on the phone, nothing is sent."
                : "Sending obfuscated faces to \(configuration.endpoint)"
        } catch {
            status = FrameProcessor.describe(error)
        }
    }

    func stop() {
        camera.stop()
        processor.configure(preserver: nil, client: nil, onFrame: nil, onGaze: nil)
    }

    private func show(_ result: FrameResult) {
        frame = result
    }

    private func show(_ outcome: Result<GazeUpdate, Error>) {
        switch outcome {
        case let .success(update):
            gaze = update
            serviceProblem = nil
        case let .failure(error):
            serviceProblem = FrameProcessor.describe(error)
        }
    }
}
