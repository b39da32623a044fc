import CKilnImage
import Foundation

/// An image file format, recognised by its magic bytes.
public enum ImageFormat: String, Sendable, CaseIterable {
    /// JPEG (`FF D8 FF`), decoded with libjpeg-turbo.
    case jpeg = "JPEG"
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`), decoded with libpng.
    case png = "PNG"

    /// The format of `bytes` from its first bytes, or `nil` when it is neither JPEG nor PNG.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 8, (0..<8).allSatisfy({ bytes[$0] == png[$0] }) { return .png }
        return nil
    }

    /// A name for formats KilnImage recognises but does not decode, for error messages.
    static func otherName(_ bytes: UnsafeRawBufferPointer) -> String {
        func starts(_ s: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + s.count && s.indices.allSatisfy { bytes[offset + $0] == s[$0] }
        }
        if starts(Array("GIF8".utf8)) { return "GIF" }
        if starts(Array("BM".utf8)) { return "BMP" }
        if starts(Array("RIFF".utf8)), starts(Array("WEBP".utf8), at: 8) { return "WebP" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if starts(Array("ftyp".utf8), at: 4) { return "HEIF/AVIF" }
        if starts([0xFF, 0xD8]) || starts([0x89, 0x50, 0x4E, 0x47]) { return "truncated signature" }
        return "unknown"
    }
}

/// Options for ``ImageDecoder``.
public struct DecodingOptions: Sendable, Equatable {
    /// Largest `width × height` accepted; checked from the header before any pixel memory is
    /// allocated. Default 100,000,000 (100 MP).
    public var maxPixels: Int
    /// Apply the EXIF orientation tag (JPEG APP1 `Exif`, PNG `eXIf`) as Pillow's
    /// `ImageOps.exif_transpose` does. Default `false` (torchvision does not apply it either).
    public var exifTranspose: Bool
    /// What to do with alpha. Default ``AlphaHandling/drop`` (Pillow's `convert("RGB")`).
    public var alpha: AlphaHandling
    /// Most progressive JPEG scans accepted (a guard against files built to take minutes).
    /// Default 1000; real encoders write ≤ 20.
    public var maxJPEGScans: Int

    /// Options with the defaults above, each overridable.
    public init(maxPixels: Int = 100_000_000, exifTranspose: Bool = false, alpha: AlphaHandling = .drop,
                maxJPEGScans: Int = 1000) {
        self.maxPixels = maxPixels
        self.exifTranspose = exifTranspose
        self.alpha = alpha
        self.maxJPEGScans = maxJPEGScans
    }
}

/// What a file's header says, read without decoding pixels.
public struct ImageInfo: Sendable, Equatable {
    /// The sniffed format.
    public let format: ImageFormat
    /// Width in pixels as stored (before any EXIF orientation).
    public let width: Int
    /// Height in pixels as stored.
    public let height: Int
    /// Samples per pixel in the file's decoded form: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA or CMYK.
    public let channels: Int
    /// 8 or 16.
    public let bitDepth: Int
    /// Progressive JPEG or Adam7-interlaced PNG.
    public let interlaced: Bool
}

/// Decodes JPEG and PNG into ``RGBImage`` exactly as Pillow's `Image.open(p).convert("RGB")`.
///
/// JPEG goes through the system libjpeg-turbo with the settings Pillow uses (accurate integer
/// IDCT, fancy upsampling), so the pixels are identical. PNG goes through libpng with no gamma
/// or ICC handling (Pillow applies neither). Errors are ``KilnImageError`` values; no input traps
/// or hangs.
public enum ImageDecoder {
    /// Decodes an image file.
    /// - Parameters:
    ///   - url: A file URL.
    ///   - options: Limits, EXIF orientation, alpha handling.
    /// - Returns: The image as RGB8, `[H, W, 3]`.
    /// - Throws: ``KilnImageError`` (`.io` when the file cannot be read, and every case of
    ///   ``decode(_:options:source:)``).
    public static func decode(contentsOf url: URL, options: DecodingOptions = DecodingOptions()) throws -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw KilnImageError.io(path: url.path, reason: "\(error.localizedDescription)")
        }
        return try decode(data, options: options, source: url.path)
    }

    /// Decodes encoded image bytes.
    /// - Parameters:
    ///   - data: The whole file.
    ///   - options: Limits, EXIF orientation, alpha handling.
    ///   - source: A name for error messages (a path).
    /// - Returns: The image as RGB8, `[H, W, 3]`.
    /// - Throws: ``KilnImageError/empty(source:)``, ``KilnImageError/unsupported(source:format:reason:)``,
    ///   ``KilnImageError/corrupt(source:format:offset:reason:)``,
    ///   ``KilnImageError/truncated(source:format:offset:reason:)``,
    ///   ``KilnImageError/tooLarge(source:width:height:limit:)``.
    public static func decode(_ data: Data, options: DecodingOptions = DecodingOptions(), source: String = "<memory>") throws -> RGBImage {
        try data.withUnsafeBytes { try decode(bytes: $0, options: options, source: source) }
    }

    /// Decodes encoded image bytes from a raw buffer. See ``decode(_:options:source:)``.
    public static func decode(bytes: UnsafeRawBufferPointer, options: DecodingOptions = DecodingOptions(),
                              source: String = "<memory>") throws -> RGBImage {
        let format = try sniff(bytes, source: source)
        var info = try readInfo(bytes, format: format, trnsToAlpha: false, source: source)
        // With compositing, a PNG tRNS chunk becomes alpha: re-read the header with libpng's
        // tRNS expansion. Not for 16-bit gray: its tRNS would turn the clipped `I;16` values into
        // high bytes, so Kiln keeps Pillow's `convert("RGB")` values there and ignores tRNS.
        var useTrns = false
        if case .composite = options.alpha, format == .png, info.has_trns != 0,
           !(info.bit_depth == 16 && info.color == Int32(KILN_IMAGE_GRAY)) {
            useTrns = true
            info = try readInfo(bytes, format: format, trnsToAlpha: true, source: source)
        }
        let width = Int(info.width), height = Int(info.height)
        try checkLimit(width: width, height: height, options: options, source: source)

        let channels = Int(info.channels), sampleBytes = Int(info.bit_depth) / 8
        let rowBytes = width * channels * sampleBytes
        var raw = [UInt8](repeating: 0, count: rowBytes * height)
        var message = [CChar](repeating: 0, count: 256)
        let status: Int32 = raw.withUnsafeMutableBytes { out in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let dst = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            switch format {
            case .jpeg:
                let scans = UInt32(clamping: max(0, options.maxJPEGScans))
                return kiln_jpeg_decode(base, bytes.count, &info, scans, dst, out.count, &message, message.count)
            case .png:
                return kiln_png_decode(base, bytes.count, useTrns ? 1 : 0, &info, dst, out.count, &message, message.count)
            }
        }
        if status != Int32(KILN_IMAGE_OK) {
            throw error(status: status, format: format, offset: info.error_offset, message: message, source: source)
        }

        let layout: PixelConversion.Decoded
        switch info.color {
        case Int32(KILN_IMAGE_GRAY): layout = .gray
        case Int32(KILN_IMAGE_GRAY_ALPHA): layout = .grayAlpha
        case Int32(KILN_IMAGE_RGB): layout = .rgb
        case Int32(KILN_IMAGE_RGBA): layout = .rgba
        default: layout = .cmyk
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        raw.withUnsafeBufferPointer { s in
            rgb.withUnsafeMutableBufferPointer { d in
                for y in 0..<height {
                    PixelConversion.decodedRow(s.baseAddress! + y * rowBytes, layout: layout, sixteenBit: sampleBytes == 2,
                                               alpha: options.alpha, width: width, into: d.baseAddress! + y * width * 3)
                }
            }
        }
        let image = RGBImage(uncheckedWidth: width, height: height, pixels: rgb)
        guard options.exifTranspose else { return image }
        let orientation = EXIF.orientation(in: bytes, format: format)
        return image.transposed(exifOrientation: orientation)
    }

    /// Reads the header only: dimensions, channels, bit depth. Allocates no pixel memory.
    /// - Throws: The ``KilnImageError`` cases of ``decode(_:options:source:)`` except `tooLarge`.
    public static func info(_ data: Data, source: String = "<memory>") throws -> ImageInfo {
        try data.withUnsafeBytes { bytes in
            let format = try sniff(bytes, source: source)
            let i = try readInfo(bytes, format: format, trnsToAlpha: false, source: source)
            return ImageInfo(format: format, width: Int(i.width), height: Int(i.height), channels: Int(i.channels),
                             bitDepth: Int(i.bit_depth), interlaced: i.interlaced != 0)
        }
    }

    // MARK: Internals

    static func sniff(_ bytes: UnsafeRawBufferPointer, source: String) throws -> ImageFormat {
        guard bytes.count > 0, bytes.baseAddress != nil else { throw KilnImageError.empty(source: source) }
        guard let format = ImageFormat.sniff(bytes) else {
            let name = ImageFormat.otherName(bytes)
            throw KilnImageError.unsupported(source: source, format: name,
                                             reason: name == "unknown" ? "not a JPEG or PNG (magic bytes)" : "only JPEG and PNG are decoded")
        }
        return format
    }

    static func readInfo(_ bytes: UnsafeRawBufferPointer, format: ImageFormat, trnsToAlpha: Bool, source: String) throws -> kiln_image_info {
        var info = kiln_image_info()
        var message = [CChar](repeating: 0, count: 256)
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let status: Int32
        switch format {
        case .jpeg: status = kiln_jpeg_read_info(base, bytes.count, &info, &message, message.count)
        case .png: status = kiln_png_read_info(base, bytes.count, trnsToAlpha ? 1 : 0, &info, &message, message.count)
        }
        if status != Int32(KILN_IMAGE_OK) {
            throw error(status: status, format: format, offset: info.error_offset, message: message, source: source)
        }
        return info
    }

    static func checkLimit(width: Int, height: Int, options: DecodingOptions, source: String) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > options.maxPixels || width < 1 || height < 1 {
            throw KilnImageError.tooLarge(source: source, width: width, height: height, limit: options.maxPixels)
        }
    }

    static func error(status: Int32, format: ImageFormat, offset: Int64, message: [CChar], source: String) -> KilnImageError {
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let at: Int? = offset >= 0 ? Int(offset) : nil
        switch status {
        case Int32(KILN_IMAGE_ERR_TRUNCATED):
            return .truncated(source: source, format: format.rawValue, offset: at, reason: text)
        case Int32(KILN_IMAGE_ERR_UNSUPPORTED):
            return .unsupported(source: source, format: format.rawValue, reason: text)
        default:
            return .corrupt(source: source, format: format.rawValue, offset: at, reason: text.isEmpty ? "decoder status \(status)" : text)
        }
    }
}
