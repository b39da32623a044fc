import Synchronization

/// An 8-bit RGB image, rows top to bottom, pixels left to right, channels interleaved:
/// `pixels[(y * width + x) * 3 + c]` for `c` = 0 (red), 1 (green), 2 (blue). Layout `[H, W, 3]`.
///
/// This is what Pillow's `Image.open(path).convert("RGB")` holds, and what every transform of
/// ``Preprocessing`` before `to_tensor` works on.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels (≥ 1).
    public let width: Int
    /// Height in pixels (≥ 1).
    public let height: Int
    /// `height * width * 3` bytes, HWC.
    public internal(set) var pixels: [UInt8]

    /// An image from interleaved RGB bytes.
    /// - Parameters:
    ///   - width: Width in pixels, ≥ 1.
    ///   - height: Height in pixels, ≥ 1.
    ///   - pixels: `height * width * 3` bytes, `[H, W, 3]`.
    /// - Throws: ``KilnImageError/invalidPixelBuffer(reason:)`` when the sizes disagree.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        let count = try RGBImage.byteCount(width: width, height: height)
        guard pixels.count == count else {
            throw KilnImageError.invalidPixelBuffer(reason: "\(width)×\(height) RGB needs \(count) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Internal: a zero-filled image; dimensions already validated.
    init(zeroedWidth width: Int, height: Int) {
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: 0, count: width * height * 3)
    }

    /// Internal: takes ownership of `pixels`; the caller has checked the count.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The most pixels an image made by a transform or from a pixel buffer may have: 100 million
    /// (the decoder's default limit) unless set lower. An artifact's preprocessing can ask for any
    /// resize or crop; this bounds what one request allocates (a resize to a shorter side of 14,160
    /// pixels asked for 813 MB, found by the preprocessing fuzz target). Process-wide.
    public static var maxPixels: Int {
        get { pixelLimit.load(ordering: .relaxed) }
        set { pixelLimit.store(max(newValue, 1), ordering: .relaxed) }
    }
    private static let pixelLimit = Atomic<Int>(100_000_000)

    /// Checks a transform's output size against ``maxPixels`` before the transform allocates it.
    /// - Throws: ``KilnImageError/invalidTransform(transform:reason:)`` naming the transform.
    static func checkOutput(width: Int, height: Int, of transform: String) throws {
        do { _ = try byteCount(width: width, height: height) } catch let KilnImageError.invalidPixelBuffer(reason) {
            throw KilnImageError.invalidTransform(transform: transform, reason: "the output would be \(reason)")
        }
    }

    /// `width * height * 3`, checking that both are ≥ 1 and that the product fits.
    static func byteCount(width: Int, height: Int) throws -> Int {
        guard width >= 1, height >= 1 else {
            throw KilnImageError.invalidPixelBuffer(reason: "dimensions must be ≥ 1, got \(width)×\(height)")
        }
        let (wh, o1) = width.multipliedReportingOverflow(by: height)
        let (bytes, o2) = wh.multipliedReportingOverflow(by: 3)
        guard !o1, !o2, wh <= maxPixels else {
            throw KilnImageError.invalidPixelBuffer(reason: "\(width)×\(height) RGB is more than RGBImage.maxPixels (\(maxPixels)) pixels")
        }
        return bytes
    }

    /// The pixel at column `x`, row `y` as `(r, g, b)`. For tests and debugging, not for loops.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// How the bytes of a caller-supplied pixel buffer are laid out per pixel.
public enum PixelLayout: String, Sendable, CaseIterable {
    /// 3 bytes: red, green, blue.
    case rgb
    /// 3 bytes: blue, green, red (OpenCV's order).
    case bgr
    /// 4 bytes: red, green, blue, alpha.
    case rgba
    /// 4 bytes: blue, green, red, alpha.
    case bgra
    /// 1 byte: gray, replicated into red, green and blue (Pillow's `L` → `RGB`).
    case gray

    /// Bytes per pixel.
    public var bytesPerPixel: Int {
        switch self {
        case .rgb, .bgr: return 3
        case .rgba, .bgra: return 4
        case .gray: return 1
        }
    }
}

/// An sRGB color with 8-bit channels (a background for alpha compositing).
public struct RGB8: Sendable, Equatable, Hashable {
    /// Red.
    public var r: UInt8
    /// Green.
    public var g: UInt8
    /// Blue.
    public var b: UInt8
    /// A color from its channels.
    public init(r: UInt8, g: UInt8, b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
    /// White, `(255, 255, 255)`.
    public static let white = RGB8(r: 255, g: 255, b: 255)
    /// Black, `(0, 0, 0)`.
    public static let black = RGB8(r: 0, g: 0, b: 0)
}

/// What to do with an alpha channel (RGBA and gray+alpha files, PNG `tRNS`, RGBA/BGRA buffers).
public enum AlphaHandling: Sendable, Equatable, Hashable {
    /// Ignore alpha; keep the stored color (Pillow's `convert("RGB")`, the torchvision default).
    /// PNG `tRNS` is ignored too.
    case drop
    /// Blend over `background`: `out = (c·a + bg·(255 − a) + 128 + ((c·a + bg·(255 − a) + 128) >> 8)) >> 8`,
    /// the rounding of Pillow's `bg.paste(im, mask=alpha)`. PNG `tRNS` counts as alpha (except
    /// for 16-bit gray, whose `tRNS` Kiln ignores).
    case composite(background: RGB8)
}

extension RGBImage {
    /// An image from a caller's pixel buffer, copied.
    /// - Parameters:
    ///   - bytes: The pixels; row `y` starts at byte `y * rowStride`.
    ///   - width: Width in pixels, ≥ 1.
    ///   - height: Height in pixels, ≥ 1.
    ///   - layout: The bytes of one pixel (``PixelLayout``).
    ///   - rowStride: Bytes from one row to the next, ≥ `width * layout.bytesPerPixel`
    ///     (`nil`: exactly that, rows packed).
    ///   - alpha: For `.rgba` / `.bgra`: drop alpha (default) or composite over a background.
    /// - Throws: ``KilnImageError/invalidPixelBuffer(reason:)`` when the buffer is too small or the
    ///   stride too short.
    public init(bytes: UnsafeRawBufferPointer, width: Int, height: Int, layout: PixelLayout,
                rowStride: Int? = nil, alpha: AlphaHandling = .drop) throws {
        let count = try RGBImage.byteCount(width: width, height: height)
        let bpp = layout.bytesPerPixel
        let packed = width * bpp
        let stride = rowStride ?? packed
        guard stride >= packed else {
            throw KilnImageError.invalidPixelBuffer(reason: "row stride \(stride) is less than width × \(bpp) = \(packed) bytes")
        }
        // The last row needs only `packed` bytes, not a whole stride.
        let (rowsBefore, o1) = (height - 1).multipliedReportingOverflow(by: stride)
        let (needed, o2) = rowsBefore.addingReportingOverflow(packed)
        guard !o1, !o2, bytes.count >= needed, let base = bytes.baseAddress else {
            throw KilnImageError.invalidPixelBuffer(reason: "\(width)×\(height) \(layout.rawValue) with row stride \(stride) needs \(o1 || o2 ? "too many" : String(needed)) bytes, got \(bytes.count)")
        }
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { dst in
            let d = dst.baseAddress!
            let src = base.assumingMemoryBound(to: UInt8.self)
            for y in 0..<height {
                PixelConversion.row(src + y * stride, layout: layout, alpha: alpha, width: width, into: d + y * width * 3)
            }
        }
        self.init(uncheckedWidth: width, height: height, pixels: out)
    }

    /// An image from a caller's pixel array, copied. See ``init(bytes:width:height:layout:rowStride:alpha:)``.
    public init(pixels: [UInt8], width: Int, height: Int, layout: PixelLayout,
                rowStride: Int? = nil, alpha: AlphaHandling = .drop) throws {
        self = try pixels.withUnsafeBytes {
            try RGBImage(bytes: $0, width: width, height: height, layout: layout, rowStride: rowStride, alpha: alpha)
        }
    }

    /// The pixels in another layout (`.bgr` swaps red and blue; `.rgba`/`.bgra` add alpha 255;
    /// `.gray` uses Pillow's `L = (19595·R + 38470·G + 7471·B + 0x8000) >> 16`).
    public func pixels(in layout: PixelLayout) -> [UInt8] {
        let n = width * height
        var out = [UInt8](repeating: 255, count: n * layout.bytesPerPixel)
        pixels.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                let src = s.baseAddress!, dst = d.baseAddress!
                for i in 0..<n {
                    let r = src[3 * i], g = src[3 * i + 1], b = src[3 * i + 2]
                    switch layout {
                    case .rgb: dst[3 * i] = r; dst[3 * i + 1] = g; dst[3 * i + 2] = b
                    case .bgr: dst[3 * i] = b; dst[3 * i + 1] = g; dst[3 * i + 2] = r
                    case .rgba: dst[4 * i] = r; dst[4 * i + 1] = g; dst[4 * i + 2] = b
                    case .bgra: dst[4 * i] = b; dst[4 * i + 1] = g; dst[4 * i + 2] = r
                    case .gray:
                        let rw: UInt32 = UInt32(r) &* 19595
                        let gw: UInt32 = UInt32(g) &* 38470
                        let bw: UInt32 = UInt32(b) &* 7471
                        dst[i] = UInt8(truncatingIfNeeded: (rw &+ gw &+ bw &+ 0x8000) >> 16)
                    }
                }
            }
        }
        return out
    }
}
