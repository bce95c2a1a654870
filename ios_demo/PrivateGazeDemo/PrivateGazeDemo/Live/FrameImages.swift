// Pixels as CGImages for the screen: camera frames, and the SDK's 8-bit RGB faces.

import CoreGraphics
import CoreVideo
import Foundation
import PrivateGazeSDK
import VideoToolbox

enum FrameImages {
    static func cgImage(_ buffer: CVPixelBuffer) -> CGImage? {
        var image: CGImage?
        VTCreateCGImageFromCVPixelBuffer(buffer, options: nil, imageOut: &image)
        return image
    }

    static func cgImage(_ image: RGBImage) -> CGImage? {
        guard let provider = CGDataProvider(data: Data(image.bytes) as CFData) else { return nil }
        return CGImage(
            width: image.width,
            height: image.height,
            bitsPerComponent: 8,
            bitsPerPixel: 24,
            bytesPerRow: image.width * 3,
            space: CGColorSpace(name: CGColorSpace.sRGB) ?? CGColorSpaceCreateDeviceRGB(),
            bitmapInfo: CGBitmapInfo(rawValue: CGImageAlphaInfo.none.rawValue),
            provider: provider,
            decode: nil,
            shouldInterpolate: false,
            intent: .defaultIntent
        )
    }
}
