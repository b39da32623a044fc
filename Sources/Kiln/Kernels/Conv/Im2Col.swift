/// The indices `j` in `0..<count` for which `j · stride + offset` lies in `0..<limit`, as a
/// half-open range (empty when none). `stride ≥ 1`.
///
/// Convolutions use it to split each row into a padded border and an interior without bounds
/// checks: for im2col `j` is the output position and `offset = k·dilation − padBegin`; for col2im
/// `j` is the input position and the limit the output size.
@inline(__always)
func convValidRange(count: Int, limit: Int, stride: Int, offset: Int) -> (lo: Int, hi: Int) {
    var lo = 0
    if offset < 0 { lo = (-offset &+ stride &- 1) / stride }
    let top = limit &- 1 &- offset
    var hi = top < 0 ? 0 : top / stride &+ 1
    if hi > count { hi = count }
    if lo > hi { lo = hi }
    return (lo, hi)
}

/// Writes rows `rows` of the im2col matrix of one group: row `r = (c·kH + kh)·kW + kw` holds, for
/// every output position, the input value under kernel tap `(c, kh, kw)` (0 in the padding).
/// - Parameters:
///   - input: Channel 0 of the group in one image, `[C/group, H, W]`.
///   - col: The `[gemmK, outH·outW]` matrix.
func im2col_f32(_ g: Conv2DGeometry, input: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>, rows: Range<Int>) {
    let kArea = g.kernelArea, outW = g.outWidth, outPlane = g.outPlane, inW = g.inWidth
    for r in rows {
        let c = r / kArea
        let kh = (r / g.kernelW) % g.kernelH
        let kw = r % g.kernelW
        let src = input + c &* g.inPlane
        let dstRow = col + r &* outPlane
        let offW = kw &* g.dilationW &- g.padLeft
        let (lo, hi) = convValidRange(count: outW, limit: inW, stride: g.strideW, offset: offW)
        for oh in 0..<g.outHeight {
            let dst = dstRow + oh &* outW
            let ih = oh &* g.strideH &+ kh &* g.dilationH &- g.padTop
            if ih < 0 || ih >= g.inHeight {
                dst.update(repeating: 0, count: outW)
                continue
            }
            if lo > 0 { dst.update(repeating: 0, count: lo) }
            if lo < hi {
                // First in-bounds input element of this row; every index below stays inside the row.
                let s = src + (ih &* inW &+ lo &* g.strideW &+ offW)
                if g.strideW == 1 {
                    (dst + lo).update(from: s, count: hi &- lo)
                } else {
                    let sw = g.strideW
                    let d = dst + lo
                    for j in 0..<(hi &- lo) { d[j] = s[j &* sw] }
                }
            }
            if hi < outW { (dst + hi).update(repeating: 0, count: outW &- hi) }
        }
    }
}

/// Accumulates the column matrix of one group into the output (the adjoint of im2col) for output
/// channels `channels` of the group: `y[m, oh, ow] += col[(m·kH + kh)·kW + kw, ih·W + iw]` with
/// `oh = ih·strideH + kh·dilationH − padTop` (same for `w`).
/// - Parameters:
///   - col: The `[M/group · kH · kW, H·W]` matrix.
///   - output: Output channel 0 of the group in one image, `[M/group, outH, outW]`.
func col2im_f32(_ g: ConvTranspose2DGeometry, col: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, channels: Range<Int>) {
    let inW = g.inWidth, inPlane = g.inPlane, outW = g.outWidth
    for m in channels {
        let dstPlane = output + m &* g.outPlane
        for kh in 0..<g.kernelH {
            let offH = kh &* g.dilationH &- g.padTop
            let (ihLo, ihHi) = convValidRange(count: g.inHeight, limit: g.outHeight, stride: g.strideH, offset: offH)
            if ihLo >= ihHi { continue }
            for kw in 0..<g.kernelW {
                let offW = kw &* g.dilationW &- g.padLeft
                let (lo, hi) = convValidRange(count: inW, limit: outW, stride: g.strideW, offset: offW)
                if lo >= hi { continue }
                let srcRows = col + ((m &* g.kernelH &+ kh) &* g.kernelW &+ kw) &* inPlane
                for ih in ihLo..<ihHi {
                    let src = srcRows + (ih &* inW &+ lo)
                    // First output element this row touches; the indices below stay inside the row.
                    let dst = dstPlane + ((ih &* g.strideH &+ offH) &* outW &+ lo &* g.strideW &+ offW)
                    if g.strideW == 1 {
                        col2im_addRow(dst, src, count: hi &- lo)
                    } else {
                        let sw = g.strideW
                        for j in 0..<(hi &- lo) { dst[j &* sw] += src[j] }
                    }
                }
            }
        }
    }
}

/// `dst[i] += src[i]` for `count` floats.
@inline(__always)
private func col2im_addRow(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i &+ 8 <= count {
        let d = UnsafeMutableRawPointer(dst + i)
        let v = d.loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
        d.storeBytes(of: v, as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        dst[i] += src[i]
        i &+= 1
    }
}
