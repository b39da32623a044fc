/// Finds the EXIF orientation tag (0x0112) the way Pillow's `getexif()` does for JPEG (the first
/// APP1 segment starting `Exif\0\0`) and PNG (the first `eXIf` chunk). Every read is bounds-checked;
/// a malformed EXIF block means "no orientation" (1), never an error.
enum EXIF {
    /// The orientation, 1...8 (1 when absent or malformed).
    static func orientation(in bytes: UnsafeRawBufferPointer, format: ImageFormat) -> Int {
        let tiff: Range<Int>?
        switch format {
        case .jpeg: tiff = jpegExif(bytes)
        case .png: tiff = pngExif(bytes)
        }
        guard let tiff else { return 1 }
        return tiffOrientation(UnsafeRawBufferPointer(rebasing: bytes[tiff])) ?? 1
    }

    @inline(__always)
    static func be16(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }

    static func be32(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int { be16(b, i) << 16 | be16(b, i + 2) }

    /// The TIFF block of the first `Exif\0\0` APP1 segment before the first scan.
    static func jpegExif(_ b: UnsafeRawBufferPointer) -> Range<Int>? {
        var i = 2  // after SOI
        while i + 4 <= b.count {
            guard b[i] == 0xFF else { return nil }
            var m = i + 1
            while m < b.count, b[m] == 0xFF { m += 1 }  // fill bytes
            guard m + 2 < b.count else { return nil }
            let marker = b[m]
            if marker == 0xDA || marker == 0xD9 { return nil }  // SOS / EOI: no more headers
            if (0xD0...0xD7).contains(marker) || marker == 0x01 { i = m + 1; continue }  // no length
            let length = be16(b, m + 1)
            guard length >= 2, m + 1 + length <= b.count else { return nil }
            let start = m + 3, end = m + 1 + length
            if marker == 0xE1, end - start >= 6,
               b[start] == 0x45, b[start + 1] == 0x78, b[start + 2] == 0x69, b[start + 3] == 0x66,
               b[start + 4] == 0, b[start + 5] == 0 {
                return (start + 6)..<end
            }
            i = end
        }
        return nil
    }

    /// The data of the first `eXIf` chunk.
    static func pngExif(_ b: UnsafeRawBufferPointer) -> Range<Int>? {
        var i = 8
        while i + 12 <= b.count {
            let length = be32(b, i)
            let type = (b[i + 4], b[i + 5], b[i + 6], b[i + 7])
            let start = i + 8
            guard length <= b.count - start - 4 else { return nil }
            if type == (0x65, 0x58, 0x49, 0x66) {  // eXIf
                // Some writers keep the JPEG-style "Exif\0\0" prefix; Pillow accepts both.
                if length >= 6, b[start] == 0x45, b[start + 1] == 0x78, b[start + 4] == 0, b[start + 5] == 0 {
                    return (start + 6)..<(start + length)
                }
                return start..<(start + length)
            }
            if type == (0x49, 0x45, 0x4E, 0x44) { return nil }  // IEND
            i = start + length + 4
        }
        return nil
    }

    /// Tag 0x0112 of IFD0 of a TIFF block.
    static func tiffOrientation(_ t: UnsafeRawBufferPointer) -> Int? {
        guard t.count >= 8 else { return nil }
        let little: Bool
        if t[0] == 0x49, t[1] == 0x49 { little = true } else if t[0] == 0x4D, t[1] == 0x4D { little = false } else { return nil }
        func u16(_ i: Int) -> Int? {
            guard i >= 0, i + 2 <= t.count else { return nil }
            return little ? Int(t[i]) | Int(t[i + 1]) << 8 : Int(t[i]) << 8 | Int(t[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard let a = u16(i), let b = u16(i + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for e in 0..<count {
            let entry = ifd + 2 + 12 * e
            guard let tag = u16(entry), let type = u16(entry + 2) else { return nil }
            guard tag == 0x0112 else { continue }
            switch type {
            case 3: return u16(entry + 8)   // SHORT
            case 4: return u32(entry + 8)   // LONG
            default: return nil
            }
        }
        return nil
    }
}

extension RGBImage {
    /// The image as Pillow's `ImageOps.exif_transpose` leaves it for an EXIF orientation:
    /// 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse,
    /// 8 rotate 90° counter-clockwise; anything else unchanged.
    public func transposed(exifOrientation orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let w = width, h = height
        let swaps = orientation >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        var out = [UInt8](repeating: 0, count: ow * oh * 3)
        pixels.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                let src = s.baseAddress!, dst = d.baseAddress!
                for y in 0..<oh {
                    for x in 0..<ow {
                        // (sx, sy): the source pixel that lands on (x, y).
                        let sx: Int, sy: Int
                        switch orientation {
                        case 2: sx = w - 1 - x; sy = y
                        case 3: sx = w - 1 - x; sy = h - 1 - y
                        case 4: sx = x; sy = h - 1 - y
                        case 5: sx = y; sy = x
                        case 6: sx = y; sy = h - 1 - x
                        case 7: sx = w - 1 - y; sy = h - 1 - x
                        default: sx = w - 1 - y; sy = x  // 8
                        }
                        let si = (sy * w + sx) * 3, di = (y * ow + x) * 3
                        dst[di] = src[si]; dst[di + 1] = src[si + 1]; dst[di + 2] = src[si + 2]
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: ow, height: oh, pixels: out)
    }
}
