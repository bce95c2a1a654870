// What the Settings tab stores (UserDefaults through @AppStorage) and how the Live tab turns it into a preserver and a
// gaze client.

import CoreML
import Foundation
import PrivateGazeSDK

/// The UserDefaults keys of the settings.
enum SettingsKey {
    static let endpoint = "gazeEndpoint"
    static let allowInsecureHTTP = "allowInsecureHTTP"
    static let modelFile = "modelFile"
    static let computeUnits = "computeUnits"
}

/// Where Core ML may run the preserver: the choices of the benchmark's `ComputeConfiguration`, for the live view.
enum ComputeUnitsChoice: String, CaseIterable, Identifiable {
    case all
    case cpuOnly
    case cpuAndGPU
    case cpuAndNeuralEngine

    var id: String { rawValue }

    var units: MLComputeUnits {
        switch self {
        case .all: return .all
        case .cpuOnly: return .cpuOnly
        case .cpuAndGPU: return .cpuAndGPU
        case .cpuAndNeuralEngine: return .cpuAndNeuralEngine
        }
    }

    var label: String {
        switch self {
        case .all: return "All (Core ML chooses)"
        case .cpuOnly: return "CPU only"
        case .cpuAndGPU: return "CPU and GPU"
        case .cpuAndNeuralEngine: return "CPU and Neural Engine"
        }
    }
}

/// One live session's settings; the Live tab restarts the session when any of them changes.
struct LiveConfiguration: Hashable {
    var endpoint: String
    var allowInsecureHTTP: Bool
    var modelFile: String
    var computeUnits: String

    var units: MLComputeUnits { (ComputeUnitsChoice(rawValue: computeUnits) ?? .all).units }

    /// The gaze client for the endpoint, or nil when none is set (the app then obfuscates without sending).
    ///
    /// - Throws: `PrivateGazeError.config` for a URL that is not absolute http(s), or plain http to a LAN host
    ///   without the "allow plain HTTP" switch.
    func makeClient() throws -> GazeClient? {
        let text = endpoint.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return nil }
        guard let url = URL(string: text) else {
            throw PrivateGazeError.config("'\(text)' is not a URL; enter e.g. http://192.168.1.20:8080/v1/gaze")
        }
        let api = HTTPJSONAPI(config: try HTTPJSONConfig(url: url))
        return try GazeClient(api: api, config: ClientConfig(allowInsecureHTTP: allowInsecureHTTP))
    }

    /// The chosen model among those in the app, or the first one.
    func model(in models: [BenchmarkModel]) -> BenchmarkModel? {
        models.first { $0.packageFileName == modelFile } ?? models.first
    }
}

extension FileManager {
    /// The app's Documents folder, where packages copied in at run time and benchmark results live.
    var documentsURL: URL {
        urls(for: .documentDirectory, in: .userDomainMask).first ?? temporaryDirectory
    }
}
