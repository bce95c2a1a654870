// swift-tools-version:5.9
// The PrivateGaze iOS SDK: the exported Core ML preserver and its manifest, face normalization, and an egress-safe
// client for a remote gaze API. The demo app (../PrivateGazeDemo) depends on it as a local package.
//
// Swift 5 language mode on purpose: the benchmark screen passes [String: Any] dictionaries between tasks, which
// Swift 6's data-race checks refuse (ios_demo/BENCHMARK.md).

import PackageDescription

let package = Package(
    name: "PrivateGazeSDK",
    platforms: [
        .iOS(.v17),  // pgz-export converts with minimum_deployment_target=iOS17 (export/targets/coreml.py)
        .macOS(.v14),  // `swift test` on a Mac runs the tests of everything but the camera and Vision glue
    ],
    products: [
        .library(name: "PrivateGazeSDK", targets: ["PrivateGazeSDK"]),
    ],
    targets: [
        .target(name: "PrivateGazeSDK"),
        .testTarget(
            name: "PrivateGazeSDKTests",
            dependencies: ["PrivateGazeSDK"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
