// The PrivateGaze demo app: the live camera with raw and obfuscated faces side by side and the returned gaze as an
// arrow, the settings of the gaze API, and the Core ML benchmark. ios_demo/README.md says how to build and run it.

import SwiftUI

@main
struct PrivateGazeDemoApp: App {
    var body: some Scene {
        WindowGroup {
            TabView {
                LiveView()
                    .tabItem { Label("Live", systemImage: "eye") }
                SettingsView()
                    .tabItem { Label("Settings", systemImage: "gearshape") }
                BenchmarkView()  // the camera stops while this tab is shown: the timings are the model's alone
                    .tabItem { Label("Benchmark", systemImage: "speedometer") }
            }
        }
    }
}
