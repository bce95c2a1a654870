#if canImport(CoreVideo)
import CoreVideo
import Foundation

/// `CVPixelBuffer` <-> the SDK's pixel types: camera frames read in place, Core ML image inputs written, Core ML image
/// outputs copied out. Only packed 8-bit formats are handled; ask the camera for kCVPixelFormatType_32BGRA.
public enum PixelBuffers {
    /// The packed format of a Core Video pixel format type, or nil for one the SDK does not read.
    public static func packedFormat(_ type: OSType) -> PackedPixelFormat? {
        switch type {
        case kCVPixelFormatType_32BGRA: return .bgra
        case kCVPixelFormatType_32ARGB: return .argb
        case kCVPixelFormatType_32RGBA: return .rgba
        case kCVPixelFormatType_24RGB: return .rgb
        default: return nil
        }
    }

    /// Run `body` with a view of the buffer's pixels, valid only inside `body` (the buffer stays locked meanwhile):
    /// the face warp reads a camera frame this way without copying it.
    ///
    /// - Throws: `PrivateGazeError.image` for a planar or unknown pixel format, or memory that cannot be locked.
    public static func withView<T>(_ buffer: CVPixelBuffer, _ body: (PackedPixelView) throws -> T) throws -> T {
        let type = CVPixelBufferGetPixelFormatType(buffer)
        guard let format = packedFormat(type), !CVPixelBufferIsPlanar(buffer) else {
            throw PrivateGazeError.image(
                "the frame has pixel format \(fourCC(type)); set the camera output's kCVPixelBufferPixelFormatTypeKey "
                    + "to kCVPixelFormatType_32BGRA"
            )
        }
        guard CVPixelBufferLockBaseAddress(buffer, .readOnly) == kCVReturnSuccess else {
            throw PrivateGazeError.image("cannot lock the frame's pixels")
        }
        defer { CVPixelBufferUnlockBaseAddress(buffer, .readOnly) }
        guard let base = CVPixelBufferGetBaseAddress(buffer) else {
            throw PrivateGazeError.image("the frame has no pixel memory")
        }
        let view = try PackedPixelView(
            base: UnsafeRawPointer(base),
            width: CVPixelBufferGetWidth(buffer),
            height: CVPixelBufferGetHeight(buffer),
            bytesPerRow: CVPixelBufferGetBytesPerRow(buffer),
            format: format
        )
        return try body(view)
    }

    /// A copy of the buffer's pixels (a Core ML image output).
    public static func rgbImage(_ buffer: CVPixelBuffer) throws -> RGBImage {
        try withView(buffer) { RGBImage(copying: $0) }
    }

    /// A new IOSurface-backed buffer holding `image`, in the pixel format a model's image input asks for; the GPU and
    /// the Neural Engine read IOSurface memory without a copy.
    ///
    /// - Throws: `PrivateGazeError.image` for a format the SDK cannot write or a failed allocation.
    public static func make(from image: RGBImage, pixelFormat: OSType) throws -> CVPixelBuffer {
        guard let format = packedFormat(pixelFormat) else {
            throw PrivateGazeError.image("the model asks for pixel format \(fourCC(pixelFormat)), which is not RGB")
        }
        let attributes = [kCVPixelBufferIOSurfacePropertiesKey as String: [String: Any]()] as CFDictionary
        var created: CVPixelBuffer?
        let status = CVPixelBufferCreate(
            kCFAllocatorDefault, image.width, image.height, pixelFormat, attributes, &created
        )
        guard status == kCVReturnSuccess, let buffer = created else {
            throw PrivateGazeError.image("cannot allocate a \(image.width)x\(image.height) pixel buffer (\(status))")
        }
        guard CVPixelBufferLockBaseAddress(buffer, []) == kCVReturnSuccess else {
            throw PrivateGazeError.image("cannot lock a new pixel buffer")
        }
        defer { CVPixelBufferUnlockBaseAddress(buffer, []) }
        guard let base = CVPixelBufferGetBaseAddress(buffer) else {
            throw PrivateGazeError.image("a new pixel buffer has no memory")
        }
        image.write(to: base, bytesPerRow: CVPixelBufferGetBytesPerRow(buffer), format: format)
        return buffer
    }

    /// "BGRA" for kCVPixelFormatType_32BGRA, and so on: how Core Video names its formats.
    static func fourCC(_ type: OSType) -> String {
        let bytes = [24, 16, 8, 0].map { UInt8((type >> $0) & 0xFF) }
        let printable = bytes.allSatisfy { (32...126).contains($0) }
        return printable ? "'\(String(decoding: bytes, as: UTF8.self))'" : String(type)
    }
}
#endif
