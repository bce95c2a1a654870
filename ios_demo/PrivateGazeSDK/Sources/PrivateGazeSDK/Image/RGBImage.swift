import Foundation

/// Anything the face warp can read pixels from: an `RGBImage`, or a camera frame's memory through
/// `PackedPixelView`, without copying the whole frame.
public protocol PixelSource {
    var width: Int { get }
    var height: Int { get }
    /// The red, green and blue values at column `x`, row `y`; callers stay within the image.
    func rgb(x: Int, y: Int) -> (UInt8, UInt8, UInt8)
}

/// An 8-bit RGB image, packed row by row (3 bytes a pixel, no padding): a normalized face, raw or obfuscated.
public struct RGBImage: Equatable, Sendable, PixelSource {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, R G B for each pixel, rows top to bottom.
    public let bytes: [UInt8]

    /// - Throws: `PrivateGazeError.image` when the byte count is not `width * height * 3`.
    public init(width: Int, height: Int, bytes: [UInt8]) throws {
        guard width > 0, height > 0, bytes.count == width * height * 3 else {
            throw PrivateGazeError.image(
                "an RGB image of \(width)x\(height) needs \(max(width, 0) * max(height, 0) * 3) bytes, got "
                    + "\(bytes.count); pack 8-bit R, G, B per pixel, rows without padding"
            )
        }
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    public func rgb(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let index = 3 * (y * width + x)
        return (bytes[index], bytes[index + 1], bytes[index + 2])
    }

    /// Copy of a packed frame (e.g. a camera buffer while it is locked).
    public init(copying view: PackedPixelView) {
        var bytes = [UInt8](repeating: 0, count: view.width * view.height * 3)
        for y in 0..<view.height {
            for x in 0..<view.width {
                let (r, g, b) = view.rgb(x: x, y: y)
                let index = 3 * (y * view.width + x)
                bytes[index] = r
                bytes[index + 1] = g
                bytes[index + 2] = b
            }
        }
        width = view.width
        height = view.height
        self.bytes = bytes
    }

    /// Write the image into packed pixel memory of the same size (e.g. a Core ML input buffer), alpha opaque.
    ///
    /// - Parameters:
    ///   - base: The first byte of the first row; at least `height * bytesPerRow` bytes must be writable.
    ///   - bytesPerRow: Stride between rows, padding included.
    public func write(to base: UnsafeMutableRawPointer, bytesPerRow: Int, format: PackedPixelFormat) {
        let pixels = base.assumingMemoryBound(to: UInt8.self)
        for y in 0..<height {
            for x in 0..<width {
                let source = 3 * (y * width + x)
                let target = y * bytesPerRow + x * format.bytesPerPixel
                pixels[target + format.redOffset] = bytes[source]
                pixels[target + format.greenOffset] = bytes[source + 1]
                pixels[target + format.blueOffset] = bytes[source + 2]
                if let alpha = format.alphaOffset { pixels[target + alpha] = 255 }
            }
        }
    }
}

/// Byte order of a packed 8-bit pixel format: the Core Video formats a camera or Core ML hands over.
public enum PackedPixelFormat: Sendable {
    /// kCVPixelFormatType_32BGRA, what the camera and Core ML image outputs use.
    case bgra
    /// kCVPixelFormatType_32ARGB.
    case argb
    /// kCVPixelFormatType_32RGBA.
    case rgba
    /// kCVPixelFormatType_24RGB.
    case rgb

    public var bytesPerPixel: Int { self == .rgb ? 3 : 4 }

    var redOffset: Int {
        switch self {
        case .bgra: return 2
        case .argb: return 1
        case .rgba, .rgb: return 0
        }
    }

    var greenOffset: Int {
        switch self {
        case .bgra: return 1
        case .argb: return 2
        case .rgba, .rgb: return 1
        }
    }

    var blueOffset: Int {
        switch self {
        case .bgra: return 0
        case .argb: return 3
        case .rgba, .rgb: return 2
        }
    }

    var alphaOffset: Int? {
        switch self {
        case .bgra: return 3
        case .argb: return 0
        case .rgba: return 3
        case .rgb: return nil
        }
    }
}

/// A read-only view of packed pixel memory someone else owns, e.g. a locked `CVPixelBuffer`. Only valid while that
/// memory is: build it, warp from it and drop it inside the lock.
public struct PackedPixelView: PixelSource {
    public let width: Int
    public let height: Int
    public let bytesPerRow: Int
    public let format: PackedPixelFormat
    private let base: UnsafePointer<UInt8>

    /// - Throws: `PrivateGazeError.image` when the sizes cannot describe the memory (a row shorter than its pixels).
    public init(base: UnsafeRawPointer, width: Int, height: Int, bytesPerRow: Int, format: PackedPixelFormat) throws {
        guard width > 0, height > 0, bytesPerRow >= width * format.bytesPerPixel else {
            throw PrivateGazeError.image(
                "a \(width)x\(height) frame of \(format.bytesPerPixel)-byte pixels needs at least "
                    + "\(width * format.bytesPerPixel) bytes a row, got \(bytesPerRow)"
            )
        }
        self.base = base.assumingMemoryBound(to: UInt8.self)
        self.width = width
        self.height = height
        self.bytesPerRow = bytesPerRow
        self.format = format
    }

    public func rgb(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let pixel = base + y * bytesPerRow + x * format.bytesPerPixel
        return (pixel[format.redOffset], pixel[format.greenOffset], pixel[format.blueOffset])
    }
}
