/// torchvision's `transforms.Resize` on a PIL image (v1 semantics).
///
/// The output size follows `torchvision.transforms.functional._compute_resized_output_size`:
/// with a shorter-side size `s` the short edge becomes `s` and the long edge
/// `Int(Double(s · long) / Double(short))` (truncated); with `maxSize` the long edge is capped and
/// the short edge becomes `Int(Double(maxSize · s) / Double(long))`. Pixels are Pillow's (see
/// ``Interpolation``); Pillow always antialiases when shrinking, so `antialias` is recorded but
/// changes nothing, exactly as torchvision ignores it for PIL images.
public struct Resize: Sendable, Equatable {
    /// The requested size.
    public enum Size: Sendable, Equatable {
        /// The shorter edge becomes this length; the aspect ratio is kept.
        case shorterSide(Int)
        /// Exactly this height and width.
        case exact(height: Int, width: Int)
    }

    /// The requested size.
    public let size: Size
    /// The resampling filter.
    public let interpolation: Interpolation
    /// With ``Size/shorterSide(_:)``: the longest edge allowed after resizing, `> s`.
    public let maxSize: Int?
    /// Recorded for the preprocessing JSON; PIL-image resizing always antialiases.
    public let antialias: Bool

    /// - Parameters:
    ///   - size: Shorter side or exact size, every length ≥ 1.
    ///   - interpolation: Default bilinear (torchvision's default).
    ///   - maxSize: Only with a shorter-side size; must exceed it.
    ///   - antialias: Default `true`; `false` is accepted and ignored (torchvision warns and ignores it for PIL images).
    /// - Throws: ``KilnImageError/invalidTransform(transform:reason:)``.
    public init(size: Size, interpolation: Interpolation = .bilinear, maxSize: Int? = nil, antialias: Bool = true) throws {
        switch size {
        case let .shorterSide(s):
            guard s >= 1 else { throw KilnImageError.invalidTransform(transform: "Resize", reason: "size must be ≥ 1, got \(s)") }
            if let maxSize, maxSize <= s {
                throw KilnImageError.invalidTransform(transform: "Resize", reason: "max_size = \(maxSize) must be strictly greater than the requested size for the smaller edge size = \(s)")
            }
        case let .exact(h, w):
            guard h >= 1, w >= 1 else { throw KilnImageError.invalidTransform(transform: "Resize", reason: "size must be ≥ 1, got [\(h), \(w)]") }
            if maxSize != nil {
                throw KilnImageError.invalidTransform(transform: "Resize", reason: "max_size is only allowed when size gives the smaller edge")
            }
        }
        self.size = size
        self.interpolation = interpolation
        self.maxSize = maxSize
        self.antialias = antialias
    }

    /// The output size for an input of `height × width`, as torchvision computes it.
    /// - Throws: ``KilnImageError/invalidTransform(transform:reason:)`` when an edge would become 0
    ///   (Pillow refuses that too) or the arithmetic overflows.
    public func outputSize(height: Int, width: Int) throws -> (height: Int, width: Int) {
        switch size {
        case let .exact(h, w):
            return (h, w)
        case let .shorterSide(s):
            let short = min(height, width), long = max(height, width)
            // Python: int(s * long / short) — the integer product, a correctly rounded true
            // division, then truncation. Exact in Double while the product stays below 2^53.
            var newShort = s
            var newLong = Int(Double(s) * Double(long) / Double(short))
            if let maxSize, newLong > maxSize {
                newShort = Int(Double(maxSize) * Double(newShort) / Double(newLong))
                newLong = maxSize
            }
            guard newShort >= 1, newLong >= 1, newLong < 1 << 24 else {
                throw KilnImageError.invalidTransform(transform: "Resize", reason: "resizing \(height)×\(width) gives an edge of \(min(newShort, newLong)) pixels (or more than 2^24)")
            }
            return width <= height ? (newLong, newShort) : (newShort, newLong)
        }
    }

    /// Resizes `image`.
    /// - Returns: The resized RGB8 image (the input itself when the size is unchanged).
    /// - Throws: See ``outputSize(height:width:)``; also ``KilnImageError/invalidTransform(transform:reason:)``
    ///   when the output would have more than ``RGBImage/maxPixels`` pixels, before allocating it.
    public func callAsFunction(_ image: RGBImage) throws -> RGBImage {
        let (h, w) = try outputSize(height: image.height, width: image.width)
        try RGBImage.checkOutput(width: w, height: h, of: "Resize")
        switch interpolation {
        case .nearest, .nearestExact: return Resample.nearest(image, outWidth: w, outHeight: h)
        case .bilinear: return Resample.convolve(image, outWidth: w, outHeight: h, cubic: false)
        case .bicubic: return Resample.convolve(image, outWidth: w, outHeight: h, cubic: true)
        }
    }
}

/// torchvision's `transforms.CenterCrop` on a PIL image.
///
/// When the crop is larger than the image along an edge, the image is first padded with black:
/// `(crop − size) // 2` before and `(crop − size + 1) // 2` after. Then the offset is
/// `round((size − crop) / 2)` with Python's round-half-to-even (a difference of 29 gives 14, not 15).
public struct CenterCrop: Sendable, Equatable {
    /// Output height.
    public let height: Int
    /// Output width.
    public let width: Int

    /// - Throws: ``KilnImageError/invalidTransform(transform:reason:)`` when an edge is < 1.
    public init(height: Int, width: Int) throws {
        guard height >= 1, width >= 1 else {
            throw KilnImageError.invalidTransform(transform: "CenterCrop", reason: "size must be ≥ 1, got [\(height), \(width)]")
        }
        self.height = height
        self.width = width
    }

    /// Python's `int(round(d / 2.0))` for an integer `d ≥ 0`: halves go to the even neighbour.
    static func roundHalfEven(_ d: Int) -> Int {
        let q = d / 2
        return d % 2 == 0 ? q : (q % 2 == 0 ? q : q + 1)
    }

    /// Crops (and pads) `image`.
    /// - Returns: A `height × width` RGB8 image.
    /// - Throws: ``KilnImageError/invalidTransform(transform:reason:)`` when the output would have
    ///   more than ``RGBImage/maxPixels`` pixels.
    public func callAsFunction(_ image: RGBImage) throws -> RGBImage {
        try RGBImage.checkOutput(width: width, height: height, of: "CenterCrop")
        if image.width == width && image.height == height { return image }
        // Offsets of the crop window in the (virtually) padded image, then in the original.
        let padLeft = width > image.width ? (width - image.width) / 2 : 0
        let padTop = height > image.height ? (height - image.height) / 2 : 0
        let paddedW = image.width + (width > image.width ? width - image.width : 0)
        let paddedH = image.height + (height > image.height ? height - image.height : 0)
        let left = CenterCrop.roundHalfEven(paddedW - width) - padLeft
        let top = CenterCrop.roundHalfEven(paddedH - height) - padTop
        var out = RGBImage(zeroedWidth: width, height: height)
        let inW = image.width, inH = image.height
        // Output column x reads input column x + left when inside the image.
        let x0 = max(0, -left), x1 = min(width, inW - left)
        let y0 = max(0, -top), y1 = min(height, inH - top)
        guard x0 < x1, y0 < y1 else { return out }
        image.pixels.withUnsafeBufferPointer { sp in
            out.pixels.withUnsafeMutableBufferPointer { dp in
                for y in y0..<y1 {
                    let src = sp.baseAddress! + ((y + top) * inW + x0 + left) * 3
                    let dst = dp.baseAddress! + (y * width + x0) * 3
                    dst.update(from: src, count: (x1 - x0) * 3)
                }
            }
        }
        return out
    }
}

/// torchvision's `transforms.Normalize`: `(x − mean[c]) / std[c]` in float32, per channel of the
/// tensor (in the tensor's channel order, see ``Preprocessing/ColorOrder``).
public struct Normalize: Sendable, Equatable {
    /// Per-channel means (3 values, or 1 applied to every channel).
    public let mean: [Float]
    /// Per-channel standard deviations, none zero (3 values, or 1).
    public let std: [Float]

    /// - Throws: ``KilnImageError/invalidTransform(transform:reason:)`` for counts other than 1
    ///   or 3, a zero or non-finite std, or a non-finite mean.
    public init(mean: [Float], std: [Float]) throws {
        guard [1, 3].contains(mean.count), [1, 3].contains(std.count) else {
            throw KilnImageError.invalidTransform(transform: "Normalize", reason: "mean and std need 1 or 3 values, got \(mean.count) and \(std.count)")
        }
        guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 != 0 }) else {
            throw KilnImageError.invalidTransform(transform: "Normalize", reason: "mean must be finite and std finite and non-zero, got mean \(mean), std \(std)")
        }
        self.mean = mean
        self.std = std
    }

    /// The ImageNet statistics torchvision's classification models use.
    public static let imagenet = try! Normalize(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
}
