#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interpolation of ``Resize``, as torchvision passes it to Pillow for PIL images.
public enum Interpolation: String, Sendable, CaseIterable {
    /// Pillow `NEAREST`: the source pixel under each output pixel's center.
    case nearest
    /// torchvision's `NEAREST_EXACT`, which for PIL images is Pillow `NEAREST` too.
    case nearestExact = "nearest-exact"
    /// Pillow `BILINEAR`: triangle filter, support 1, widened by the scale when shrinking.
    case bilinear
    /// Pillow `BICUBIC`: Keys cubic with a = −0.5, support 2, widened when shrinking.
    case bicubic
}

/// Pillow's separable convolution resampler for 8-bit images (libImaging/Resample.c), written
/// from its documented behaviour: per axis, each output pixel `i` is centered at
/// `(i + 0.5) · scale` in the input, takes the input pixels within `support · max(scale, 1)` of
/// it, weights them by the filter evaluated at `(j − center + 0.5) / max(scale, 1)` (so shrinking
/// always antialiases), normalizes the weights to sum 1 in `Double`, and rounds them to fixed
/// point with 22 fractional bits. Pixels accumulate in `Int32` starting from `1 << 21` (rounding)
/// and are clipped to 0...255 after `>> 22`. The first pass is rounded to 8 bits before the
/// second (pass order: see ``convolve(_:outWidth:outHeight:cubic:)``); an axis whose size does not
/// change is not resampled.
enum Resample {
    static let precisionBits: Int32 = 22

    /// Fixed-point weights of one axis: output `i` reads `count[i]` input pixels from `start[i]`
    /// with weights `weights[i * taps ..< i * taps + count[i]]`.
    struct Coefficients {
        var start: [Int]
        var count: [Int]
        var weights: [Int32]
        var taps: Int
    }

    @inline(__always)
    static func bilinear(_ x: Double) -> Double {
        let x = x < 0 ? -x : x
        return x < 1 ? 1 - x : 0
    }

    @inline(__always)
    static func bicubic(_ x: Double) -> Double {
        let a = -0.5
        let x = x < 0 ? -x : x
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// The weight table of one axis, in Pillow's floating-point order of operations (the rounding
    /// of `xmin`/`xmax` and of each weight decides exact pixel equality).
    static func coefficients(inSize: Int, outSize: Int, cubic: Bool) -> Coefficients {
        let support0 = cubic ? 2.0 : 1.0
        // Pillow computes the box width in float32; exact for any realistic size (< 2^24).
        let scale = Double(Float(inSize)) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = support0 * filterScale
        let taps = Int(ceil(support)) * 2 + 1
        var start = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var weights = [Int32](repeating: 0, count: outSize * taps)
        var k = [Double](repeating: 0, count: taps)
        let ss = 1.0 / filterScale
        for i in 0..<outSize {
            let center = (Double(i) + 0.5) * scale
            // C's (int) truncates toward zero, as Int(_: Double) does.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var ww = 0.0
            for x in 0..<xmax {
                let t = (Double(x + xmin) - center + 0.5) * ss
                let w = cubic ? bicubic(t) : bilinear(t)
                k[x] = w
                ww += w
            }
            for x in 0..<xmax {
                let w = ww != 0 ? k[x] / ww : k[x]
                let f = w * Double(1 << precisionBits)
                weights[i * taps + x] = Int32(w < 0 ? f - 0.5 : f + 0.5)
            }
            start[i] = xmin
            count[i] = max(xmax, 0)
        }
        return Coefficients(start: start, count: count, weights: weights, taps: taps)
    }

    @inline(__always)
    static func clip8(_ v: Int32) -> UInt8 {
        let s = v >> precisionBits
        return s < 0 ? 0 : (s > 255 ? 255 : UInt8(truncatingIfNeeded: s))
    }

    /// Resizes an RGB8 image with bilinear or bicubic filtering. `outWidth`, `outHeight` ≥ 1.
    ///
    /// Pass order is Pillow's (13.0): horizontal first, unless the height shrinks by more than
    /// twice as many pixels as the width does (`inH − outH > 0 && inH − outH > 2·(inW − outW)`);
    /// then vertical first. The order matters because the image between the passes is rounded
    /// to 8 bits.
    static func convolve(_ image: RGBImage, outWidth: Int, outHeight: Int, cubic: Bool) -> RGBImage {
        let inW = image.width, inH = image.height
        if inW == outWidth && inH == outHeight { return image }
        let verticalFirst = inH - outHeight > 0 && inH - outHeight > (inW - outWidth) * 2
        if verticalFirst {
            let vertical = coefficients(inSize: inH, outSize: outHeight, cubic: cubic)
            let shrunk = verticalPass(image.pixels, width: inW, rowOffset: 0, outHeight: outHeight, vertical)
            guard outWidth != inW else { return RGBImage(uncheckedWidth: outWidth, height: outHeight, pixels: shrunk) }
            let out = horizontal(shrunk, width: inW, rows: 0..<outHeight, outWidth: outWidth,
                                 coefficients(inSize: inW, outSize: outWidth, cubic: cubic))
            return RGBImage(uncheckedWidth: outWidth, height: outHeight, pixels: out)
        }
        let vertical = coefficients(inSize: inH, outSize: outHeight, cubic: cubic)
        var source = image.pixels
        var sourceWidth = inW
        var rowOffset = 0  // input row of source's first row
        if outWidth != inW {
            // Only the rows the vertical pass reads.
            let first = vertical.start[0]
            let last = vertical.start[outHeight - 1] + vertical.count[outHeight - 1]
            source = horizontal(image.pixels, width: inW, rows: first..<last, outWidth: outWidth,
                                coefficients(inSize: inW, outSize: outWidth, cubic: cubic))
            sourceWidth = outWidth
            rowOffset = first
        }
        if outHeight == inH {
            // Pillow skips the vertical pass; the horizontal pass covered every row.
            return RGBImage(uncheckedWidth: outWidth, height: outHeight, pixels: source)
        }
        let out = verticalPass(source, width: sourceWidth, rowOffset: rowOffset, outHeight: outHeight, vertical)
        return RGBImage(uncheckedWidth: outWidth, height: outHeight, pixels: out)
    }

    static func horizontal(_ pixels: [UInt8], width: Int, rows: Range<Int>, outWidth: Int, _ c: Coefficients) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows.count * outWidth * 3)
        let half: Int32 = 1 << (precisionBits - 1)
        pixels.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { dp in
                c.weights.withUnsafeBufferPointer { wp in
                    c.start.withUnsafeBufferPointer { stp in
                        c.count.withUnsafeBufferPointer { cp in
                            let src = sp.baseAddress!, dst = dp.baseAddress!, w = wp.baseAddress!
                            for (r, y) in rows.enumerated() {
                                let row = src + y * width * 3
                                let orow = dst + r * outWidth * 3
                                for i in 0..<outWidth {
                                    let k = w + i * c.taps
                                    var p = row + stp[i] * 3
                                    var s0 = half, s1 = half, s2 = half
                                    for x in 0..<cp[i] {
                                        let kx = k[x]
                                        s0 &+= Int32(p[0]) &* kx
                                        s1 &+= Int32(p[1]) &* kx
                                        s2 &+= Int32(p[2]) &* kx
                                        p += 3
                                    }
                                    orow[3 * i] = clip8(s0); orow[3 * i + 1] = clip8(s1); orow[3 * i + 2] = clip8(s2)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The vertical pass over whole rows: one weight per input row, so the inner loop runs over
    /// contiguous bytes of a row (vectorizable) into an Int32 accumulator row.
    static func verticalPass(_ pixels: [UInt8], width: Int, rowOffset: Int, outHeight: Int, _ c: Coefficients) -> [UInt8] {
        let rowBytes = width * 3
        var out = [UInt8](repeating: 0, count: outHeight * rowBytes)
        var acc = [Int32](repeating: 0, count: rowBytes)
        let half: Int32 = 1 << (precisionBits - 1)
        pixels.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { dp in
                acc.withUnsafeMutableBufferPointer { ap in
                    let src = sp.baseAddress!, dst = dp.baseAddress!, a = ap.baseAddress!
                    for i in 0..<outHeight {
                        for j in 0..<rowBytes { a[j] = half }
                        let first = c.start[i] - rowOffset
                        for t in 0..<c.count[i] {
                            let kt = c.weights[i * c.taps + t]
                            let row = src + (first + t) * rowBytes
                            for j in 0..<rowBytes { a[j] &+= Int32(row[j]) &* kt }
                        }
                        let orow = dst + i * rowBytes
                        for j in 0..<rowBytes { orow[j] = clip8(a[j]) }
                    }
                }
            }
        }
        return out
    }

    /// Pillow's `NEAREST` resize, an affine scale: the source coordinate starts at `scale / 2`
    /// and is advanced by repeated addition of `scale` (the accumulated rounding is part of the
    /// result), then truncated. Coordinates outside the image leave black pixels, as Pillow's do.
    static func nearest(_ image: RGBImage, outWidth: Int, outHeight: Int) -> RGBImage {
        let inW = image.width, inH = image.height
        if inW == outWidth && inH == outHeight { return image }
        func table(_ inSize: Int, _ outSize: Int) -> [Int] {
            let a = Double(Float(inSize)) / Double(outSize)
            var xo = 0.0 + a * 0.5
            var t = [Int](repeating: -1, count: outSize)
            for x in 0..<outSize {
                let xi = xo < 0 ? -1 : Int(xo)
                t[x] = xi >= 0 && xi < inSize ? xi : -1
                xo += a
            }
            return t
        }
        let xs = table(inW, outWidth), ys = table(inH, outHeight)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        image.pixels.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { dp in
                let src = sp.baseAddress!, dst = dp.baseAddress!
                for y in 0..<outHeight where ys[y] >= 0 {
                    let row = src + ys[y] * inW * 3
                    let orow = dst + y * outWidth * 3
                    for x in 0..<outWidth where xs[x] >= 0 {
                        let p = row + xs[x] * 3
                        orow[3 * x] = p[0]; orow[3 * x + 1] = p[1]; orow[3 * x + 2] = p[2]
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: outWidth, height: outHeight, pixels: out)
    }
}
