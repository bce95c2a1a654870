import Foundation
import XCTest
@testable import PrivateGazeSDK

/// The files `Fixtures/make_fixtures.py` writes from the Python toolkit: pgz-export's sidecars for a tiny preserver,
/// and what the Python SDK computes for fixed inputs (`python-reference.json`).
enum Fixtures {
    static func url(_ relativePath: String) throws -> URL {
        let base = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "no Fixtures resource")
        return base.appendingPathComponent(relativePath)
    }

    static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    static func reference() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: data("python-reference.json"))
        return try XCTUnwrap(object as? [String: Any])
    }

    static func imageManifest() throws -> Manifest {
        try Manifest.decode(data("tiny-image.mlpackage.json"))
    }

    static func tensorManifest() throws -> Manifest {
        try Manifest.decode(data("tiny-tensor.mlpackage.json"))
    }

    /// The frame make_fixtures.py warps: the same formula, so no pixels are stored.
    static func syntheticFrame(width: Int, height: Int) throws -> RGBImage {
        var bytes = [UInt8]()
        bytes.reserveCapacity(width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                bytes.append(UInt8((3 * x + 5 * y) % 256))
                bytes.append(UInt8((7 * x + 2 * y * y) % 256))
                bytes.append(UInt8((x * y + 11) % 256))
            }
        }
        return try RGBImage(width: width, height: height, bytes: bytes)
    }

    /// An `ObfuscatedFace` as if a preserver had made it: tests reach the internal initializer through
    /// `@testable import`, which app code cannot do.
    static func obfuscatedFace(size: Int = 32, normalization: Normalization? = nil) throws -> ObfuscatedFace {
        let bytes = (0..<(size * size * 3)).map { UInt8(($0 * 37) % 256) }
        return ObfuscatedFace(
            pixels: try RGBImage(width: size, height: size, bytes: bytes),
            model: "tiny.fp32",
            blackbox: "blackbox-tiny",
            anchorSha256: nil,
            normalization: normalization,
            timestampMs: 40,
            normalizationMethod: normalization == nil ? nil : .landmarks,
            intrinsics: normalization == nil ? nil : .assumedDefault
        )
    }
}

/// Reading numbers out of JSONSerialization's output.
func doubles(_ value: Any?, file: StaticString = #filePath, line: UInt = #line) throws -> [Double] {
    try XCTUnwrap((value as? [NSNumber])?.map(\.doubleValue), "expected a list of numbers", file: file, line: line)
}

func matrix(_ value: Any?) throws -> Matrix3 {
    try Matrix3(rowMajor: doubles(value))
}

func vector(_ value: Any?) throws -> Vector3 {
    let values = try doubles(value)
    return Vector3(values[0], values[1], values[2])
}

func assertClose(
    _ actual: [Double], _ expected: [Double], tolerance: Double, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, message, file: file, line: line)
    for (a, e) in zip(actual, expected) where abs(a - e) > tolerance * max(1, abs(e)) {
        XCTFail("\(message): \(actual) differs from \(expected) beyond \(tolerance)", file: file, line: line)
        return
    }
}
