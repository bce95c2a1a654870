// The Live tab: the camera with the landmarks and the returned gaze as an arrow, and below it the raw normalized face
// (which stays on the phone) beside the obfuscated face (the only thing sent), each with the gaze drawn on it.

import PrivateGazeSDK
import SwiftUI

struct LiveView: View {
    @StateObject private var model = LiveGazeModel()
    @AppStorage(SettingsKey.endpoint) private var endpoint = ""
    @AppStorage(SettingsKey.allowInsecureHTTP) private var allowInsecureHTTP = false
    @AppStorage(SettingsKey.modelFile) private var modelFile = ""
    @AppStorage(SettingsKey.computeUnits) private var computeUnits = ComputeUnitsChoice.all.rawValue

    private var configuration: LiveConfiguration {
        LiveConfiguration(
            endpoint: endpoint, allowInsecureHTTP: allowInsecureHTTP, modelFile: modelFile, computeUnits: computeUnits
        )
    }

    var body: some View {
        NavigationStack {
            ScrollView {
                VStack(spacing: 12) {
                    CameraFrameView(frame: model.frame, gaze: model.gaze)
                    HStack(alignment: .top, spacing: 12) {
                        FaceTile(title: "Raw face", caption: "stays on the phone", image: model.frame.rawFace,
                                 gaze: model.gaze?.result.pitchYaw)
                        FaceTile(title: "Obfuscated face", caption: "the only thing sent",
                                 image: model.frame.obfuscatedFace, gaze: model.gaze?.result.pitchYaw)
                    }
                    readout
                }
                .padding()
            }
            .navigationTitle("Live gaze")
        }
        .task(id: configuration) { await model.start(configuration) }
        .onDisappear { model.stop() }
    }

    private var readout: some View {
        VStack(alignment: .leading, spacing: 4) {
            if let gaze = model.gaze?.result {
                let angles = gaze.cameraPitchYaw ?? gaze.pitchYaw
                Text(String(
                    format: "Gaze (camera frame): pitch %.1f°, yaw %.1f° · %.0f ms, %ld attempt(s)",
                    angles.pitch * 180 / .pi, angles.yaw * 180 / .pi, gaze.latencyMs, gaze.attempts
                ))
                .font(.callout.monospacedDigit())
            }
            if let problem = model.frame.problem { Text(problem).foregroundStyle(.orange) }
            if let problem = model.serviceProblem { Text("Gaze API: \(problem)").foregroundStyle(.red) }
            Text(model.status).foregroundStyle(.secondary)
            if let name = model.modelName {
                Text("\(name) · \(model.frame.method.map { "normalized from \($0.rawValue)" } ?? "no face yet")")
                    .foregroundStyle(.secondary)
            }
        }
        .font(.footnote)
        .frame(maxWidth: .infinity, alignment: .leading)
    }
}

/// The camera frame, mirrored like a selfie view, with the six landmarks and the camera-frame gaze arrow. The overlay
/// is drawn in frame pixels and mirrored with the picture, so both stay aligned.
struct CameraFrameView: View {
    let frame: FrameResult
    let gaze: GazeUpdate?

    var body: some View {
        let size = frame.frameSize.width > 0 ? frame.frameSize : CGSize(width: 3, height: 4)
        ZStack {
            if let image = frame.frame {
                Image(decorative: image, scale: 1).resizable()
            } else {
                Color.black
            }
            Canvas { context, canvas in
                let scale = canvas.width / size.width
                for point in frame.landmarks {
                    let dot = CGRect(x: point.x * scale - 3, y: point.y * scale - 3, width: 6, height: 6)
                    context.fill(Path(ellipseIn: dot), with: .color(.green))
                }
                if let start = gaze?.arrowStart, let end = gaze?.arrowEnd {
                    let path = GazeArrow.path(
                        from: CGPoint(x: start.x * scale, y: start.y * scale),
                        to: CGPoint(x: end.x * scale, y: end.y * scale)
                    )
                    context.stroke(path, with: .color(.yellow), lineWidth: 4)
                }
            }
        }
        .aspectRatio(size, contentMode: .fit)
        .scaleEffect(x: -1, y: 1)
        .clipShape(RoundedRectangle(cornerRadius: 12))
    }
}

/// One normalized face, enlarged without smoothing, with the gaze the service returned drawn from its centre.
struct FaceTile: View {
    let title: String
    let caption: String
    let image: CGImage?
    let gaze: GazeAngles?

    var body: some View {
        VStack(spacing: 4) {
            ZStack {
                if let image {
                    Image(decorative: image, scale: 1).interpolation(.none).resizable()
                } else {
                    Color.gray.opacity(0.2)
                }
                Canvas { context, canvas in
                    guard let gaze else { return }
                    context.stroke(
                        GazeArrow.path(normalized: gaze, in: canvas), with: .color(.yellow), lineWidth: 3
                    )
                }
            }
            .aspectRatio(1, contentMode: .fit)
            .clipShape(RoundedRectangle(cornerRadius: 8))
            Text(title).font(.caption.bold())
            Text(caption).font(.caption2).foregroundStyle(.secondary)
        }
        .frame(maxWidth: .infinity)
    }
}
