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
    /// Bumped by every start: a start that finds a newer one under way leaves the camera and the status to it.
    private var generation = 0

    /// Start (or restart) the session with `configuration`; returns once the camera runs or a problem is shown.
    ///
    /// The view runs this in `.task(id:)`: a change of settings cancels it and starts another, leaving the screen
    /// cancels it. The task is checked after every suspension, so a cancelled start neither publishes a stale status
    /// nor leaves the camera running for a screen that is gone.
    func start(_ configuration: LiveConfiguration) async {
        generation += 1
        let mine = generation
        stop()
        gaze = nil
        serviceProblem = nil
        let allowed = await CameraFeed.requestAccess()
        guard !Task.isCancelled else { return }
        guard allowed else {
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
            // Checked before anything is configured or the camera starts (nothing below suspends until then).
            guard !Task.isCancelled else { return }
            let client = try configuration.makeClient()
            modelName = preserver.manifest.name
            processor.configure(
                preserver: preserver,
                client: client,
                onFrame: { [weak self] result in Task { @MainActor in self?.show(result) } },
                onGaze: { [weak self] outcome in Task { @MainActor in self?.show(outcome) } }
            )
            let camera = self.camera, processor = self.processor
            let token = camera.startToken()  // a stop() from here on (a newer start, the view leaving) cancels the start
            try await Task.detached {  // startRunning blocks until the camera runs: off the main thread
                try camera.start(token: token) { buffer, timestampMs in
                    processor.process(buffer, timestampMs: timestampMs)
                }
            }.value
            guard !Task.isCancelled else {  // cancelled while the camera started: it must not keep running
                if generation == mine { stop() }  // else a newer start has stopped it (the token) and owns it now
                return
            }
            status = client == nil
                ? "No gaze API set (Settings): faces are obfuscated on the phone, nothing is sent."
                : "Sending obfuscated faces to \(configuration.endpoint)"
        } catch {
            guard !Task.isCancelled, generation == mine else { return }  // a newer start's status is not overwritten
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
