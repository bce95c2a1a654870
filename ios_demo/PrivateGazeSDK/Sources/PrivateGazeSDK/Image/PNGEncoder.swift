import Foundation

/// PNG files of 8-bit RGB images, written without ImageIO.
///
/// A gaze service such as `pgz-serve` takes 8-bit RGB PNG or JPEG and refuses RGBA or 16-bit images (422); ImageIO
/// picks the colour type from the CGImage's alpha info, which makes RGBA easy to send by accident. This writer always
/// emits colour type 2 (RGB, 8 bits), no alpha, with the image data in stored (uncompressed) deflate blocks: a
/// normalized face is small (48x48 is 7 KB, 224x224 is 150 KB), lossless either way, and the bytes are the same on
/// every device, which makes the request body easy to test.
public enum PNGEncoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func encode(_ image: RGBImage) -> Data {
        var ihdr = Data()
        ihdr.append(bigEndian32(UInt32(image.width)))
        ihdr.append(bigEndian32(UInt32(image.height)))
        ihdr.append(contentsOf: [8, 2, 0, 0, 0])  // bit depth 8, colour type 2 (RGB), deflate, filter 0, no interlace

        var raw = [UInt8]()
        raw.reserveCapacity(image.height * (1 + 3 * image.width))
        let rowBytes = 3 * image.width
        for y in 0..<image.height {
            raw.append(0)  // filter type None
            raw.append(contentsOf: image.bytes[(y * rowBytes)..<((y + 1) * rowBytes)])
        }

        var png = Data(signature)
        png.append(chunk("IHDR", ihdr))
        png.append(chunk("IDAT", zlibStored(raw)))
        png.append(chunk("IEND", Data()))
        return png
    }

    /// A zlib stream (RFC 1950) holding `bytes` in stored deflate blocks (RFC 1951, BTYPE 00) of at most 65535 bytes.
    static func zlibStored(_ bytes: [UInt8]) -> Data {
        var out = Data([0x78, 0x01])  // deflate, 32 KiB window, no preset dictionary, check bits valid
        var offset = 0
        repeat {
            let length = min(65535, bytes.count - offset)
            let isLast = offset + length == bytes.count
            out.append(isLast ? 1 : 0)
            out.append(UInt8(length & 0xFF))
            out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xFF))
            out.append(UInt8((~length >> 8) & 0xFF))
            out.append(contentsOf: bytes[offset..<(offset + length)])
            offset += length
        } while offset < bytes.count
        out.append(bigEndian32(adler32(bytes)))
        return out
    }

    static func chunk(_ type: String, _ body: Data) -> Data {
        let typeBytes = Data(type.utf8)
        var out = bigEndian32(UInt32(body.count))
        out.append(typeBytes)
        out.append(body)
        out.append(bigEndian32(crc32(typeBytes + body)))
        return out
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return (b << 16) | a
    }

    static let crcTable: [UInt32] = (0..<256).map { index in
        var c = UInt32(index)
        for _ in 0..<8 {
            c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1
        }
        return c
    }

    static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func bigEndian32(_ value: UInt32) -> Data {
        Data([UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
}
