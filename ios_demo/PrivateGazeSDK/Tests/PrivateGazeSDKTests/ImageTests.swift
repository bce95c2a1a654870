import Foundation
import XCTest
@testable import PrivateGazeSDK
#if canImport(ImageIO)
import CoreGraphics
import ImageIO
#endif

/// Packing faces into the tensors the manifest describes, and the PNG bytes that go on the wire.
final class TensorCodecTests: XCTestCase {
    func testPackIsPixelOver255InNCHWOrder() throws {
        let codec = try TensorCodec(spec: Fixtures.tensorManifest().input)
        let size = codec.spec.size
        let face = try Fixtures.syntheticFrame(width: size, height: size)
        let values = try codec.pack(face)
        XCTAssertEqual(values.count, 3 * size * size)
        for (x, y, channel) in [(0, 0, 0), (5, 7, 1), (size - 1, size - 2, 2)] {
            let pixel = Float(face.bytes[3 * (y * size + x) + channel])
            XCTAssertEqual(values[(channel * size + y) * size + x], pixel / 255, accuracy: 1e-7)
        }
    }

    func testUnpackRoundTripsAndHonoursStrides() throws {
        let codec = try TensorCodec(spec: Fixtures.tensorManifest().input)
        let size = codec.spec.size
        let face = try Fixtures.syntheticFrame(width: size, height: size)
        let values = try codec.pack(face)
        XCTAssertEqual(try codec.unpack(shape: codec.spec.shape, strides: codec.contiguousStrides) { values[$0] }, face)

        // Core ML may pad rows: the same values with each row stored in 40 slots instead of 32.
        let rowStride = size + 8
        var padded = [Float](repeating: .nan, count: 3 * size * rowStride)
        for channel in 0..<3 {
            for y in 0..<size {
                for x in 0..<size {
                    padded[(channel * size + y) * rowStride + x] = values[(channel * size + y) * size + x]
                }
            }
        }
        let strides = [3 * size * rowStride, size * rowStride, rowStride, 1]
        XCTAssertEqual(try codec.unpack(shape: codec.spec.shape, strides: strides) { padded[$0] }, face)
    }

    func testUnpackClipsAndRoundsAsNumpy() throws {
        let codec = try TensorCodec(spec: Fixtures.tensorManifest().output)
        let size = codec.spec.size
        let samples: [Float] = [-0.5, 1.5, 0.25, 1 / 255, 0.5]
        let expected: [UInt8] = [0, 255, 64, 1, 128]  // np.round(np.clip(v, 0, 1) * 255)
        let image = try codec.unpack(shape: codec.spec.shape, strides: codec.contiguousStrides) { samples[$0 % 5] }
        for (offset, byte) in expected.enumerated() {  // offsets 0..4 are red of the first five pixels in NCHW
            XCTAssertEqual(image.bytes[3 * offset], byte, "sample \(samples[offset])")
        }
        XCTAssertEqual(image.width, size)
    }

    func testBadOutputsDropTheFrame() throws {
        let codec = try TensorCodec(spec: Fixtures.tensorManifest().output)
        XCTAssertThrowsError(try codec.unpack(shape: codec.spec.shape, strides: codec.contiguousStrides) { _ in .nan }) {
            guard case .preserver = $0 as? PrivateGazeError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try codec.unpack(shape: [1, 3, 8, 8], strides: [192, 64, 8, 1]) { _ in 0 })
    }

    func testWrongSizesAndImageLayoutsAreRefused() throws {
        let codec = try TensorCodec(spec: Fixtures.tensorManifest().input)
        XCTAssertThrowsError(try codec.pack(Fixtures.syntheticFrame(width: 8, height: 8))) {
            guard case .image = $0 as? PrivateGazeError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try TensorCodec(spec: Fixtures.imageManifest().input))
    }

    func testPackedPixelViewReadsBGRARowsWithPadding() throws {
        let face = try Fixtures.syntheticFrame(width: 5, height: 3)
        let bytesPerRow = 5 * 4 + 12
        var memory = [UInt8](repeating: 0, count: 3 * bytesPerRow)
        memory.withUnsafeMutableBytes { face.write(to: $0.baseAddress!, bytesPerRow: bytesPerRow, format: .bgra) }
        let copy = try memory.withUnsafeBytes { buffer in
            RGBImage(copying: try PackedPixelView(
                base: buffer.baseAddress!, width: 5, height: 3, bytesPerRow: bytesPerRow, format: .bgra
            ))
        }
        XCTAssertEqual(copy, face)
        XCTAssertEqual(memory[3], 255, "alpha is opaque")
        XCTAssertEqual(memory[2], face.bytes[0], "BGRA keeps red third")
    }
}

final class PNGEncoderTests: XCTestCase {
    func testChecksumsMatchTheirStandardCheckValues() {
        XCTAssertEqual(PNGEncoder.crc32(Data("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(PNGEncoder.adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
    }

    func testHeaderSaysEightBitRGBWithoutAlpha() throws {
        let png = PNGEncoder.encode(try Fixtures.syntheticFrame(width: 7, height: 5))
        XCTAssertEqual(Array(png.prefix(8)), PNGEncoder.signature)
        let header = Array(png[8..<33])  // length, "IHDR", 13 bytes of fields, CRC
        XCTAssertEqual(Array(header[4..<8]), Array("IHDR".utf8))
        XCTAssertEqual(Array(header[8..<16]), [0, 0, 0, 7, 0, 0, 0, 5])
        XCTAssertEqual(header[16], 8, "bit depth")
        XCTAssertEqual(header[17], 2, "colour type RGB: pgz-serve refuses RGBA")
    }

    #if canImport(ImageIO)
    func testImageIODecodesTheSamePixels() throws {
        for size in [32, 224] {  // 224 x 673 bytes takes several stored deflate blocks
            let image = try Fixtures.syntheticFrame(width: size, height: size)
            let source = try XCTUnwrap(CGImageSourceCreateWithData(PNGEncoder.encode(image) as CFData, nil))
            let decoded = try XCTUnwrap(CGImageSourceCreateImageAtIndex(source, 0, nil))
            XCTAssertEqual(decoded.width, size)
            XCTAssertEqual(decoded.bitsPerComponent, 8)
            XCTAssertTrue([.none, .noneSkipLast, .last, .premultipliedLast].contains(decoded.alphaInfo))
            // The decoded bitmap itself, not a redraw: drawing would colour-convert the values.
            let bitmap = try XCTUnwrap(decoded.dataProvider?.data as Data?)
            let step = decoded.bitsPerPixel / 8, row = decoded.bytesPerRow
            var rgb = [UInt8]()
            for y in 0..<size {
                for x in 0..<size {
                    rgb += bitmap[(y * row + x * step)..<(y * row + x * step + 3)]
                }
            }
            XCTAssertEqual(rgb, image.bytes, "\(size) px")
        }
    }
    #endif
}
