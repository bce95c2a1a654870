import Foundation

/// 8-bit RGB faces <-> the float tensors of a tensor-I/O artefact, laid out and scaled as its manifest says.
///
/// The manifest's `value_range` [black, white] maps pixel 0 to black and 255 to white; for pgz-export's tensors that
/// is [0, 1], i.e. pixel / 255 as the Python `Preserver` feeds it. Output values go back through the same range,
/// are clipped to it and rounded half to even, as `np.round(np.clip(x, 0, 1) * 255)` does. Image-I/O artefacts
/// (layout "image") take 8-bit pixel buffers instead and never come here.
public struct TensorCodec: Sendable {
    public let spec: TensorSpec

    /// - Throws: `PrivateGazeError.manifest` for an image layout or a dtype other than float32.
    public init(spec: TensorSpec) throws {
        guard spec.layout != .image else {
            throw PrivateGazeError.manifest("\(spec.name) is a Core ML image; it takes a pixel buffer, not a tensor")
        }
        guard spec.dtype == "float32" else {
            throw PrivateGazeError.manifest("\(spec.name) has dtype \(spec.dtype); this app runs float32 tensors")
        }
        try spec.validate(role: "tensor")
        self.spec = spec
    }

    /// The face as the tensor's values, contiguous in the spec's layout (NCHW or NHWC), batch 1.
    ///
    /// - Throws: `PrivateGazeError.image` when the face is not the spec's size.
    public func pack(_ face: RGBImage) throws -> [Float] {
        let size = spec.size
        guard face.width == size, face.height == size else {
            throw PrivateGazeError.image(
                "the model takes a \(size)x\(size) face, got \(face.width)x\(face.height); normalize it with the "
                    + "model's FaceNormalizer"
            )
        }
        let black = spec.black, span = spec.white - spec.black
        var values = [Float](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                for channel in 0..<3 {
                    let pixel = Double(face.bytes[3 * (y * size + x) + channel])
                    values[index(channel: channel, y: y, x: x)] = Float(black + span * pixel / 255)
                }
            }
        }
        return values
    }

    /// The face in a tensor of the spec's shape whose element (n, a, b, c) is at `element(offset)` with
    /// `offset = n * strides[0] + a * strides[1] + b * strides[2] + c * strides[3]`: Core ML's output arrays may pad
    /// their rows, so strides are honoured rather than assumed.
    ///
    /// - Throws: `PrivateGazeError.preserver` for another shape or a non-finite value; the frame is then dropped.
    public func unpack(shape: [Int], strides: [Int], element: (Int) -> Float) throws -> RGBImage {
        guard shape == spec.shape, strides.count == 4 else {
            throw PrivateGazeError.preserver(
                "the model returned shape \(shape), its manifest says \(spec.shape); the frame is dropped"
            )
        }
        let size = spec.size
        let black = spec.black, span = spec.white - spec.black
        var bytes = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                for channel in 0..<3 {
                    let (a, b, c) = spec.layout == .nhwc ? (y, x, channel) : (channel, y, x)
                    let value = Double(element(a * strides[1] + b * strides[2] + c * strides[3]))
                    guard value.isFinite else {
                        throw PrivateGazeError.preserver("the model returned a non-finite value; the frame is dropped")
                    }
                    let unit = min(max((value - black) / span, 0), 1)
                    bytes[3 * (y * size + x) + channel] = UInt8((unit * 255).rounded(.toNearestOrEven))
                }
            }
        }
        return try RGBImage(width: size, height: size, bytes: bytes)
    }

    /// Contiguous strides of the spec's shape (what `pack` writes).
    public var contiguousStrides: [Int] {
        let shape = spec.shape
        return [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1]
    }

    private func index(channel: Int, y: Int, x: Int) -> Int {
        let size = spec.size
        return spec.layout == .nhwc ? (y * size + x) * 3 + channel : (channel * size + y) * size + x
    }
}
