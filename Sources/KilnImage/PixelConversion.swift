/// Row converters from decoded or caller-supplied layouts to RGB8, with Pillow's arithmetic.
enum PixelConversion {
    /// Pillow's `DIV255`: `v / 255` rounded to nearest for `v` in `0...255·255`.
    @inline(__always)
    static func div255(_ v: UInt32) -> UInt8 {
        let t = v &+ 128
        return UInt8(truncatingIfNeeded: ((t >> 8) &+ t) >> 8)
    }

    /// Pillow's `paste(im, mask)` blend of `c` over `bg` with coverage `a`.
    @inline(__always)
    static func blend(_ c: UInt8, _ a: UInt8, _ bg: UInt8) -> UInt8 {
        div255(UInt32(c) &* UInt32(a) &+ UInt32(bg) &* UInt32(255 &- a))
    }

    /// Pillow's `cmyk2rgb` on already de-inverted CMYK: `nk = 255 − k`, `out = nk − MULDIV255(c, nk)`.
    @inline(__always)
    static func cmykChannel(_ c: UInt8, _ nk: UInt32) -> UInt8 {
        let t = UInt32(c) &* nk &+ 128
        let m = ((t >> 8) &+ t) >> 8
        return UInt8(truncatingIfNeeded: nk &- m)  // m ≤ nk, never negative
    }

    /// Converts one row of a caller-supplied buffer.
    static func row(_ src: UnsafePointer<UInt8>, layout: PixelLayout, alpha: AlphaHandling, width: Int,
                    into dst: UnsafeMutablePointer<UInt8>) {
        switch layout {
        case .rgb:
            dst.update(from: src, count: width * 3)
        case .bgr:
            for x in 0..<width {
                dst[3 * x] = src[3 * x + 2]; dst[3 * x + 1] = src[3 * x + 1]; dst[3 * x + 2] = src[3 * x]
            }
        case .gray:
            for x in 0..<width {
                let v = src[x]
                dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v
            }
        case .rgba, .bgra:
            let (ri, bi) = layout == .rgba ? (0, 2) : (2, 0)
            switch alpha {
            case .drop:
                for x in 0..<width {
                    dst[3 * x] = src[4 * x + ri]; dst[3 * x + 1] = src[4 * x + 1]; dst[3 * x + 2] = src[4 * x + bi]
                }
            case let .composite(bg):
                for x in 0..<width {
                    let a = src[4 * x + 3]
                    dst[3 * x] = blend(src[4 * x + ri], a, bg.r)
                    dst[3 * x + 1] = blend(src[4 * x + 1], a, bg.g)
                    dst[3 * x + 2] = blend(src[4 * x + bi], a, bg.b)
                }
            }
        }
    }

    /// The layouts the C decoders produce (see `kiln_image.h`).
    enum Decoded: Sendable {
        case gray, grayAlpha, rgb, rgba, cmyk
    }

    /// Converts one decoded row. `sixteenBit`: samples are big-endian `UInt16`.
    ///
    /// Pillow's rules, which these reproduce: 16-bit gray opens as mode `I;16` and `convert("RGB")`
    /// clips it (`min(v, 255)`, not `v >> 8`); every other 16-bit PNG keeps the high byte of each
    /// sample (raw modes `RGB;16B`, `RGBA;16B`, `LA;16B`). Pillow reads every CMYK JPEG as
    /// Adobe-inverted (`CMYK;I`), then converts with `cmyk2rgb`.
    static func decodedRow(_ src: UnsafePointer<UInt8>, layout: Decoded, sixteenBit: Bool, alpha: AlphaHandling,
                           width: Int, into dst: UnsafeMutablePointer<UInt8>) {
        // Sample i of the row: the byte (8-bit) or the high byte (16-bit).
        let step = sixteenBit ? 2 : 1
        switch layout {
        case .gray:
            if sixteenBit {
                for x in 0..<width {
                    let v = UInt16(src[2 * x]) << 8 | UInt16(src[2 * x + 1])
                    let c = UInt8(min(v, 255))
                    dst[3 * x] = c; dst[3 * x + 1] = c; dst[3 * x + 2] = c
                }
            } else {
                for x in 0..<width {
                    let c = src[x]
                    dst[3 * x] = c; dst[3 * x + 1] = c; dst[3 * x + 2] = c
                }
            }
        case .grayAlpha:
            for x in 0..<width {
                let l = src[2 * x * step]
                var c = l, d = l, e = l
                if case let .composite(bg) = alpha {
                    let a = src[(2 * x + 1) * step]
                    c = blend(l, a, bg.r); d = blend(l, a, bg.g); e = blend(l, a, bg.b)
                }
                dst[3 * x] = c; dst[3 * x + 1] = d; dst[3 * x + 2] = e
            }
        case .rgb:
            if sixteenBit {
                for i in 0..<(width * 3) { dst[i] = src[2 * i] }
            } else {
                dst.update(from: src, count: width * 3)
            }
        case .rgba:
            switch alpha {
            case .drop:
                for x in 0..<width {
                    dst[3 * x] = src[4 * x * step]
                    dst[3 * x + 1] = src[(4 * x + 1) * step]
                    dst[3 * x + 2] = src[(4 * x + 2) * step]
                }
            case let .composite(bg):
                for x in 0..<width {
                    let a = src[(4 * x + 3) * step]
                    dst[3 * x] = blend(src[4 * x * step], a, bg.r)
                    dst[3 * x + 1] = blend(src[(4 * x + 1) * step], a, bg.g)
                    dst[3 * x + 2] = blend(src[(4 * x + 2) * step], a, bg.b)
                }
            }
        case .cmyk:
            for x in 0..<width {
                let nk = UInt32(src[4 * x + 3])  // 255 − (255 − stored k): the stored value is nk
                dst[3 * x] = cmykChannel(255 &- src[4 * x], nk)
                dst[3 * x + 1] = cmykChannel(255 &- src[4 * x + 1], nk)
                dst[3 * x + 2] = cmykChannel(255 &- src[4 * x + 2], nk)
            }
        }
    }
}
