import Foundation

/// The perspective warp of a frame into the normalized face patch: `geometry.warp_image` on this side.
///
/// The Python SDK warps with Pillow's PERSPECTIVE transform and BILINEAR resampling (pixel centres shifted by half a
/// pixel into OpenCV's convention first). This reproduces Pillow's arithmetic, so both give the same pixels up to
/// floating-point summation order: each output pixel (u, v) maps back through the inverse warp, normalized so that
/// its last entry is 1, evaluated at the pixel centre; a source point outside the frame is black; inside, the four
/// neighbours are blended with their indices clamped to the frame, and the result is truncated to 8 bits.
public enum FaceWarp {
    /// The normalized face (`normalization.size` pixels square) of `frame`, which must be undistorted.
    ///
    /// - Throws: `PrivateGazeError.geometry` when the warp is degenerate.
    public static func warp<Frame: PixelSource>(_ frame: Frame, normalization: Normalization) throws -> RGBImage {
        guard let inverseWarp = normalization.warp.inverse else {
            throw PrivateGazeError.geometry("the normalization warp is singular")
        }
        let toOpenCV = try Matrix3(rowMajor: [1, 0, -0.5, 0, 1, -0.5, 0, 0, 1])
        let toPillow = try Matrix3(rowMajor: [1, 0, 0.5, 0, 1, 0.5, 0, 0, 1])
        let inverse = toPillow * inverseWarp * toOpenCV
        guard abs(inverse[2, 2]) >= 1e-12 else {
            throw PrivateGazeError.geometry("the normalization warp is degenerate (it maps the image centre to infinity)")
        }
        let a = inverse.entries.map { $0 / inverse[2, 2] }
        let size = normalization.size
        let width = Double(frame.width), height = Double(frame.height)
        var bytes = [UInt8](repeating: 0, count: size * size * 3)
        for row in 0..<size {
            let v = Double(row) + 0.5
            for column in 0..<size {
                let u = Double(column) + 0.5
                let denominator = a[6] * u + a[7] * v + 1
                let xin = (a[0] * u + a[1] * v + a[2]) / denominator
                let yin = (a[3] * u + a[4] * v + a[5]) / denominator
                guard xin >= 0, xin < width, yin >= 0, yin < height else { continue }  // black, as Pillow fills
                let value = bilinear(frame, x: xin - 0.5, y: yin - 0.5)
                let index = 3 * (row * size + column)
                bytes[index] = value.0
                bytes[index + 1] = value.1
                bytes[index + 2] = value.2
            }
        }
        return try RGBImage(width: size, height: size, bytes: bytes)
    }

    /// Pillow's BILINEAR_HEAD/BILINEAR_BODY for one 8-bit RGB pixel at (x, y), pixel centres at integers.
    private static func bilinear<Frame: PixelSource>(_ frame: Frame, x: Double, y: Double) -> (UInt8, UInt8, UInt8) {
        let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
        let dx = x - Double(x0), dy = y - Double(y0)
        let left = min(max(x0, 0), frame.width - 1), right = min(max(x0 + 1, 0), frame.width - 1)
        let top = min(max(y0, 0), frame.height - 1)
        let bottom = y0 + 1 >= 0 && y0 + 1 < frame.height ? y0 + 1 : nil
        let topLeft = frame.rgb(x: left, y: top), topRight = frame.rgb(x: right, y: top)
        let bottomLeft = bottom.map { frame.rgb(x: left, y: $0) }
        let bottomRight = bottom.map { frame.rgb(x: right, y: $0) }

        func channel(_ pick: ((UInt8, UInt8, UInt8)) -> UInt8) -> UInt8 {
            let upper = lerp(pick(topLeft), pick(topRight), dx)
            var lower = upper
            if let bottomLeft, let bottomRight { lower = lerp(pick(bottomLeft), pick(bottomRight), dx) }
            let value = upper + (lower - upper) * dy
            return UInt8(min(max(value, 0), 255))  // C's (UINT8) cast: truncation
        }
        return (channel { $0.0 }, channel { $0.1 }, channel { $0.2 })
    }

    private static func lerp(_ a: UInt8, _ b: UInt8, _ t: Double) -> Double {
        Double(a) + (Double(b) - Double(a)) * t
    }
}
