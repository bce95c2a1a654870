// The Settings tab: the gaze API endpoint, whether plain HTTP to a LAN host is allowed, and which preserver runs where.

import PrivateGazeSDK
import SwiftUI

struct SettingsView: View {
    @AppStorage(SettingsKey.endpoint) private var endpoint = ""
    @AppStorage(SettingsKey.allowInsecureHTTP) private var allowInsecureHTTP = false
    @AppStorage(SettingsKey.modelFile) private var modelFile = ""
    @AppStorage(SettingsKey.computeUnits) private var computeUnits = ComputeUnitsChoice.all.rawValue
    @State private var models: [BenchmarkModel] = []

    var body: some View {
        NavigationStack {
            Form {
                Section {
                    TextField("https://gaze.example.com/v1/gaze", text: $endpoint)
                        .keyboardType(.URL)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                    Toggle("Allow plain HTTP on this network", isOn: $allowInsecureHTTP)
                } header: {
                    Text("Gaze API endpoint")
                } footer: {
                    Text(
                        "Leave empty to obfuscate without sending. For pgz-serve on a laptop: "
                            + "http://<the laptop's LAN address>:8080/v1/gaze, with the switch on (the obfuscated face "
                            + "then travels unencrypted: trusted networks only). HTTPS needs no switch."
                    )
                }
                Section {
                    Picker("Preserver", selection: $modelFile) {
                        ForEach(models, id: \.packageFileName) { model in
                            Text(model.packageFileName).tag(model.packageFileName)
                        }
                    }
                    Picker("Compute units", selection: $computeUnits) {
                        ForEach(ComputeUnitsChoice.allCases) { choice in
                            Text(choice.label).tag(choice.rawValue)
                        }
                    }
                } header: {
                    Text("Model")
                } footer: {
                    Text(
                        models.isEmpty
                            ? "No Core ML preserver in the app: export one with pgz-export --target coreml and copy it "
                                + "into ios_demo/PrivateGazeDemo/Models (ios_demo/README.md)."
                            : "Input size, layout, value range and the normalization camera come from the model's "
                                + "manifest."
                    )
                }
                Section("What leaves the phone") {
                    Text(
                        "Only the obfuscated face, as an 8-bit RGB PNG in {\"image\": <base64>}. The camera frame and "
                            + "the raw normalized face stay on the device; the SDK's client cannot send them."
                    )
                    .font(.footnote)
                }
            }
            .navigationTitle("Settings")
            .onAppear {
                models = BenchmarkModel.discover(documents: FileManager.default.documentsURL)
                if !models.contains(where: { $0.packageFileName == modelFile }), let first = models.first {
                    modelFile = first.packageFileName
                }
            }
        }
    }
}
