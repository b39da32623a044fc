// Depthwise 2-D convolution over a block of channels, vectorized across channels.
//
// The per-plane kernel (Depthwise.swift) puts output columns in the lanes; on the small maps of a
// MobileNet's late stages (7×7, 14×14) most vectors are partial and the per-plane overhead
// dominates (≈ 4 GFLOPS on 960 planes of 7×7). Here the lanes hold `V.lanes` channels instead:
// a band of input rows of the block is transposed into a zero-bordered channel-interleaved scratch
// (`P[row][col][lane]`), every output pixel is then `kH·kW` full-width FMAs of a load against a
// filter vector, whatever the map's width or the stride, and the finished band is transposed back
// into the NCHW planes. Both transposes run `lanes × lanes` blocks in registers
// (``KernelVector/transpose(_:srcStride:srcRows:_:dstStride:dstRows:)``), over each plane's
// contiguous run of pixels rather than row by row, so a 7-wide map still moves whole vectors. The filters are interleaved the same way once, at load
// (``depthwise_blockFilters_f32(_:channels:area:lanes:into:)``).

extension ConvWindow {
    /// Columns of the interleaved input band: exactly the columns the windows read.
    @_alwaysEmitIntoClient
    public var blockedPaddedWidth: Int { max(1, (outW &- 1) &* sW &+ (kW &- 1) &* dW &+ 1) }

    /// Input rows a band of `band` output rows reads.
    @_alwaysEmitIntoClient
    public func blockedInputRows(band: Int) -> Int { (band &- 1) &* sH &+ (kH &- 1) &* dH &+ 1 }

    /// Output rows per band, so that one band's input and output scratch stay near 64 KiB (L1/L2).
    @_alwaysEmitIntoClient
    public func blockedBandRows(lanes: Int) -> Int {
        let budget = 16_384
        let wp = blockedPaddedWidth
        let fixed = blockedInputRows(band: 1) &* wp &* lanes &+ outW &* lanes
        let perRow = (sH &* wp &+ outW) &* lanes
        return max(1, min(outH, 1 &+ max(0, budget &- fixed) / max(perRow, 1)))
    }

    /// Floats of scratch one band of ``blockedBandRows(lanes:)`` rows needs.
    @_alwaysEmitIntoClient
    public func blockedScratchCount(lanes: Int) -> Int {
        let band = blockedBandRows(lanes: lanes)
        return (blockedInputRows(band: band) &* blockedPaddedWidth &+ band &* outW &+ lanes) &* lanes
    }
}

/// Interleaves the filters of `channels` depthwise channels (`[channels, area]`, channel-major) and
/// their biases into blocks of `lanes` channels: block `b` holds `area` vectors (tap-major), then one
/// bias vector; lanes past the last channel are zero.
/// - Parameters:
///   - into: `blocks · (area + 1) · lanes` floats, `blocks = ⌈channels / lanes⌉`.
@_alwaysEmitIntoClient
public func depthwise_blockFilters_f32(_ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, channels: Int, area: Int,
                                       lanes: Int, into dst: UnsafeMutablePointer<Float>) {
    let blocks = (channels &+ lanes &- 1) / lanes
    for b in 0..<blocks {
        let block = dst + b &* (area &+ 1) &* lanes
        for lane in 0..<lanes {
            let c = b &* lanes &+ lane
            for t in 0..<area { block[t &* lanes &+ lane] = c < channels ? w[c &* area &+ t] : 0 }
            block[area &* lanes &+ lane] = c < channels ? (bias?[c] ?? 0) : 0
        }
    }
}

/// Output rows `rows` of `channels ≤ V.lanes` depthwise planes (one input plane per output plane):
/// `y_c = act(bias_c + Σ w_c[i][j] · x_c[oh·sH − padT + i·dH][ow·sW − padL + j·dW])`.
/// - Parameters:
///   - x: The first input plane of the block; plane `c` starts `c · inPlaneStride` floats later.
///   - filters: The block's interleaved filters and bias (``depthwise_blockFilters_f32(_:bias:channels:area:lanes:into:)``).
///   - y: The first output plane; plane `c` starts `c · outPlaneStride` floats later. Rows `rows`
///     of each are overwritten.
///   - epilogue: Its activation is applied (bias comes from `filters`, residual is not read).
///   - scratch: ``ConvWindow/blockedScratchCount(lanes:)`` floats when `rows` is at most one band.
///   - layout: Whether `x` and `y` are the block's channel-blocked vectors instead of planes
///     (``DepthwiseLayout``); blocked, `channels` is `V.lanes`.
@_alwaysEmitIntoClient @inline(__always)
public func depthwise_blocked_f32<V: KernelVector>(_ g: ConvWindow, x: UnsafePointer<Float>, inPlaneStride: Int,
                                                   channels: Int, filters: UnsafePointer<Float>,
                                                   y: UnsafeMutablePointer<Float>, outPlaneStride: Int, rows: Range<Int>,
                                                   epilogue: Epilogue, scratch: UnsafeMutablePointer<Float>,
                                                   layout: DepthwiseLayout = DepthwiseLayout(), vector: V.Type) {
    let L = V.lanes
    let band = rows.count
    if band <= 0 { return }
    let wp = g.blockedPaddedWidth
    let inRows = g.blockedInputRows(band: band)
    let rowFloats = wp &* L
    let p = scratch
    let scratchOut = scratch + inRows &* rowFloats
    let t = scratchOut + band &* g.outW &* L
    // A blocked output is written in place: the band's rows of the block are contiguous.
    let o = layout.outputBlocked ? y + rows.lowerBound &* g.outW &* L : scratchOut
    // A costly activation (SiLU, sigmoid) is applied in a pass over the finished band, not on the
    // accumulators (see `Epilogue.hasCostlyActivation`).
    let deferred = epilogue.hasCostlyActivation
    let act = deferred ? epilogue.withoutActivation : epilogue
    let pixels = band &* g.outW
    if layout.inputBlocked && layout.readInPlace && g.dH == 1 && g.dW == 1 && g.sW <= 2
        && g.kH == g.kW && (g.kH == 3 || g.kH == 5) {
        depthwise_blockedDirect_f32(g, x: x, filters: filters, rows: rows, out: o, activation: act, vector: V.self)
    } else {
    // Input band, interleaved: P[r][col][c] = x_c[ih0 + r][col − padL], zero outside the image.
    let ih0 = rows.lowerBound &* g.sH &- g.padT
    let colLo = min(max(g.padL, 0), wp)
    let colHi = max(colLo, min(wp, g.padL &+ g.inW))
    let rLo = min(inRows, max(0, -ih0)), rHi = max(rLo, min(inRows, g.inH &- ih0))
    for r in 0..<inRows {
        let row = p + r &* rowFloats
        if r < rLo || r >= rHi {
            row.update(repeating: 0, count: rowFloats)
        } else {
            if colLo > 0 { row.update(repeating: 0, count: colLo &* L) }
            if colHi < wp { (row + colHi &* L).update(repeating: 0, count: (wp &- colHi) &* L) }
        }
    }
    if layout.inputBlocked {
        // Blocked input: each row of the band is one contiguous run of pixel vectors.
        let count = (colHi &- colLo) &* L
        for r in rLo..<rHi {
            (p + (r &* rowFloats &+ colLo &* L)).update(from: x + ((ih0 &+ r) &* g.inW &+ colLo &- g.padL) &* L, count: count)
        }
    } else if g.inW >= 2 &* L {
        // Wide rows: transpose each row's full runs of `lanes` columns in registers.
        let count = colHi &- colLo
        for r in rLo..<rHi {
            let row = p + r &* rowFloats
            let src = x + ((ih0 &+ r) &* g.inW &+ colLo &- g.padL)
            var e = 0
            while e &+ L <= count {
                V.transpose(src + e, srcStride: inPlaneStride, srcRows: channels, row + (colLo &+ e) &* L, dstStride: L, dstRows: L)
                e &+= L
            }
            while e < count {
                let q = row + (colLo &+ e) &* L
                for c in 0..<L { q[c] = c < channels ? src[c &* inPlaneStride &+ e] : 0 }
                e &+= 1
            }
        }
    } else if rHi > rLo {
        // Narrow rows (7, 14 wide): the rows inside the image are one contiguous run of every
        // plane; transpose it `lanes` pixels at a time and scatter each pixel to its padded place.
        let first = (ih0 &+ rLo) &* g.inW
        let count = (rHi &- rLo) &* g.inW
        var r = rLo, iw = 0
        var e = 0
        while e < count {
            let n = min(L, count &- e)
            if n == L {
                V.transpose(x + (first &+ e), srcStride: inPlaneStride, srcRows: channels, t, dstStride: L, dstRows: L)
            } else {
                for j in 0..<n {
                    for c in 0..<L { t[j &* L &+ c] = c < channels ? x[c &* inPlaneStride &+ first &+ e &+ j] : 0 }
                }
            }
            for j in 0..<n {
                let col = iw &+ g.padL
                if col >= colLo && col < colHi { V(load: t + j &* L).store(p + (r &* rowFloats &+ col &* L)) }
                iw &+= 1
                if iw == g.inW { iw = 0; r &+= 1 }
            }
            e &+= n
        }
    }
    let area = g.kH &* g.kW
    let bias = V(load: filters + area &* L)
    let step = g.sW &* L
    let rowStep = g.sH &* rowFloats
    let base = UnsafePointer(p)
    typealias P = UnsafePointer<Float>
    @inline(__always) func window(_ oh: Int, _ ow: Int) -> P { base + (oh &* rowStep &+ ow &* step) }
    @inline(__always) func advance(_ oh: inout Int, _ ow: inout Int) {
        ow &+= 1
        if ow == g.outW { ow = 0; oh &+= 1 }
    }
    // The band's output pixels for the kernels the row functions below do not take (5×5 on rows
    // under 8 outputs or at strides above 2, other sizes, dilated columns): eight pixels at a time
    // (eight FMA chains, each tap one filter load shared by the eight), then four, then one by one.
    // Rows of at least 16 pixels go row by row; narrower maps run on across row ends. The compiler
    // keeps `pixels8` as a call with its window pointers spilled (see `depthwise_rows5x5_f32`), so
    // the common shapes do not come here.
    @inline(__always) func pixels8(_ q: (P, P, P, P, P, P, P, P), _ e: Int, _ kh: Int, _ kw: Int, _ tapRow: Int, _ tapCol: Int) {
        var a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias
        for i in 0..<kh {
            let wi = filters + i &* kw &* L, di = i &* tapRow
            for j in 0..<kw {
                let wv = V(load: wi + j &* L), dj = di &+ j &* tapCol
                a0 = a0.fma(wv, V(load: q.0 + dj)); a1 = a1.fma(wv, V(load: q.1 + dj))
                a2 = a2.fma(wv, V(load: q.2 + dj)); a3 = a3.fma(wv, V(load: q.3 + dj))
                a4 = a4.fma(wv, V(load: q.4 + dj)); a5 = a5.fma(wv, V(load: q.5 + dj))
                a6 = a6.fma(wv, V(load: q.6 + dj)); a7 = a7.fma(wv, V(load: q.7 + dj))
            }
        }
        let d = o + e &* L
        act.activate(a0).store(d); act.activate(a1).store(d + L)
        act.activate(a2).store(d + 2 &* L); act.activate(a3).store(d + 3 &* L)
        act.activate(a4).store(d + 4 &* L); act.activate(a5).store(d + 5 &* L)
        act.activate(a6).store(d + 6 &* L); act.activate(a7).store(d + 7 &* L)
    }
    @inline(__always) func pixels4(_ q: (P, P, P, P), _ e: Int, _ kh: Int, _ kw: Int, _ tapRow: Int, _ tapCol: Int) {
        var a0 = bias, a1 = bias, a2 = bias, a3 = bias
        for i in 0..<kh {
            let wi = filters + i &* kw &* L, di = i &* tapRow
            for j in 0..<kw {
                let wv = V(load: wi + j &* L), dj = di &+ j &* tapCol
                a0 = a0.fma(wv, V(load: q.0 + dj)); a1 = a1.fma(wv, V(load: q.1 + dj))
                a2 = a2.fma(wv, V(load: q.2 + dj)); a3 = a3.fma(wv, V(load: q.3 + dj))
            }
        }
        let d = o + e &* L
        act.activate(a0).store(d); act.activate(a1).store(d + L)
        act.activate(a2).store(d + 2 &* L); act.activate(a3).store(d + 3 &* L)
    }
    @inline(__always) func pixel(_ q: P, _ e: Int, _ kh: Int, _ kw: Int, _ tapRow: Int, _ tapCol: Int) {
        var a = bias
        for i in 0..<kh {
            let wi = filters + i &* kw &* L, di = i &* tapRow
            for j in 0..<kw { a = a.fma(V(load: wi + j &* L), V(load: q + (di &+ j &* tapCol))) }
        }
        act.activate(a).store(o + e &* L)
    }
    @inline(__always) func compute(_ kh: Int, _ kw: Int, _ tapRow: Int, _ tapCol: Int) {
        var e = 0
        if g.outW >= 16 {
            for r in 0..<band {
                let src = base + r &* rowStep
                var w0 = 0
                while w0 &+ 8 <= g.outW {
                    let q = src + w0 &* step
                    pixels8((q, q + step, q + 2 &* step, q + 3 &* step, q + 4 &* step, q + 5 &* step, q + 6 &* step,
                             q + 7 &* step), r &* g.outW &+ w0, kh, kw, tapRow, tapCol)
                    w0 &+= 8
                }
                while w0 &+ 4 <= g.outW {
                    let q = src + w0 &* step
                    pixels4((q, q + step, q + 2 &* step, q + 3 &* step), r &* g.outW &+ w0, kh, kw, tapRow, tapCol)
                    w0 &+= 4
                }
                while w0 < g.outW {
                    pixel(src + w0 &* step, r &* g.outW &+ w0, kh, kw, tapRow, tapCol)
                    w0 &+= 1
                }
            }
            return
        }
        var oh = 0, ow = 0
        while e &+ 8 <= pixels {
            let q0 = window(oh, ow); advance(&oh, &ow)
            let q1 = window(oh, ow); advance(&oh, &ow)
            let q2 = window(oh, ow); advance(&oh, &ow)
            let q3 = window(oh, ow); advance(&oh, &ow)
            let q4 = window(oh, ow); advance(&oh, &ow)
            let q5 = window(oh, ow); advance(&oh, &ow)
            let q6 = window(oh, ow); advance(&oh, &ow)
            let q7 = window(oh, ow); advance(&oh, &ow)
            pixels8((q0, q1, q2, q3, q4, q5, q6, q7), e, kh, kw, tapRow, tapCol)
            e &+= 8
        }
        if e &+ 4 <= pixels {
            let q0 = window(oh, ow); advance(&oh, &ow)
            let q1 = window(oh, ow); advance(&oh, &ow)
            let q2 = window(oh, ow); advance(&oh, &ow)
            let q3 = window(oh, ow); advance(&oh, &ow)
            pixels4((q0, q1, q2, q3), e, kh, kw, tapRow, tapCol)
            e &+= 4
        }
        while e < pixels {
            pixel(window(oh, ow), e, kh, kw, tapRow, tapCol)
            advance(&oh, &ow)
            e &+= 1
        }
    }
    if g.kH == 3 && g.kW == 3 && g.dH == 1 && g.dW == 1 {
        // 3×3: the nine filter vectors stay in registers; rows of at least 8 outputs at strides 1
        // and 2 run `depthwise_rows3x3_f32`, the rest four pixels at a time (measured faster than
        // eight with the filters reloaded per tap).
        let k0 = V(load: filters), k1 = V(load: filters + L), k2 = V(load: filters + 2 &* L)
        let k3 = V(load: filters + 3 &* L), k4 = V(load: filters + 4 &* L), k5 = V(load: filters + 5 &* L)
        let k6 = V(load: filters + 6 &* L), k7 = V(load: filters + 7 &* L), k8 = V(load: filters + 8 &* L)
        @inline(__always) func pixel3(_ q: P) -> V {
            var a = bias.fma(k0, V(load: q))
            a = a.fma(k1, V(load: q + L)); a = a.fma(k2, V(load: q + 2 &* L))
            let q1 = q + rowFloats
            a = a.fma(k3, V(load: q1)); a = a.fma(k4, V(load: q1 + L)); a = a.fma(k5, V(load: q1 + 2 &* L))
            let q2 = q1 + rowFloats
            a = a.fma(k6, V(load: q2)); a = a.fma(k7, V(load: q2 + L)); a = a.fma(k8, V(load: q2 + 2 &* L))
            return a
        }
        @inline(__always) func store4(_ e: Int, _ a0: V, _ a1: V, _ a2: V, _ a3: V) {
            let d = o + e &* L
            act.activate(a0).store(d); act.activate(a1).store(d + L)
            act.activate(a2).store(d + 2 &* L); act.activate(a3).store(d + 3 &* L)
        }
        var e = 0, oh = 0, ow = 0
        if g.outW >= 8 && g.sW <= 2 {
            if g.sW == 1 {
                depthwise_rows3x3_f32(base, rowStep: rowStep, band: band, outW: g.outW, rowFloats: rowFloats, filters: filters,
                                      bias: bias, out: o, activation: act, stride: DepthwiseStride1.self)
            } else {
                depthwise_rows3x3_f32(base, rowStep: rowStep, band: band, outW: g.outW, rowFloats: rowFloats, filters: filters,
                                      bias: bias, out: o, activation: act, stride: DepthwiseStride2.self)
            }
            e = pixels
        } else if g.outW >= 8 {
            for r in 0..<band {
                let src = base + r &* rowStep
                var w0 = 0
                while w0 &+ 4 <= g.outW {
                    let q = src + w0 &* step
                    store4(r &* g.outW &+ w0, pixel3(q), pixel3(q + step), pixel3(q + 2 &* step), pixel3(q + 3 &* step))
                    w0 &+= 4
                }
                while w0 < g.outW {
                    act.activate(pixel3(src + w0 &* step)).store(o + (r &* g.outW &+ w0) &* L)
                    w0 &+= 1
                }
            }
            e = pixels
        }
        while e &+ 4 <= pixels {
            let q0 = window(oh, ow); advance(&oh, &ow)
            let q1 = window(oh, ow); advance(&oh, &ow)
            let q2 = window(oh, ow); advance(&oh, &ow)
            let q3 = window(oh, ow); advance(&oh, &ow)
            store4(e, pixel3(q0), pixel3(q1), pixel3(q2), pixel3(q3))
            e &+= 4
        }
        while e < pixels {
            act.activate(pixel3(window(oh, ow))).store(o + e &* L)
            advance(&oh, &ow)
            e &+= 1
        }
    } else if g.kH == 5 && g.kW == 5 && g.dW == 1 && g.sW <= 2 && g.outW >= 8 {
        let tapRow = g.dH &* rowFloats
        if g.sW == 1 {
            depthwise_rows5x5_f32(base, rowStep: rowStep, band: band, outW: g.outW, tapRow: tapRow, filters: filters,
                                  bias: bias, out: o, activation: act, stride: DepthwiseStride1.self)
        } else {
            depthwise_rows5x5_f32(base, rowStep: rowStep, band: band, outW: g.outW, tapRow: tapRow, filters: filters,
                                  bias: bias, out: o, activation: act, stride: DepthwiseStride2.self)
        }
    } else if g.kH == 5 && g.kW == 5 && g.dW == 1 {
        compute(5, 5, g.dH &* rowFloats, L)
    } else {
        compute(g.kH, g.kW, g.dH &* rowFloats, g.dW &* L)
    }
    }
    if deferred { epilogue.activateInPlace(o, count: pixels &* L, vector: V.self) }
    if layout.outputBlocked { return }
    // Back to the planes, `lanes` pixels at a time through a register transpose: y_c[rows] = O[·][c].
    let out = y + rows.lowerBound &* g.outW
    var e = 0
    while e &+ L <= pixels {
        V.transpose(o + e &* L, srcStride: L, srcRows: L, out + e, dstStride: outPlaneStride, dstRows: channels)
        e &+= L
    }
    while e < pixels {
        for c in 0..<channels { out[c &* outPlaneStride &+ e] = o[e &* L &+ c] }
        e &+= 1
    }
}

/// The layouts of a channel-blocked depthwise convolution's input and output: plain NCHW planes
/// (`x_c` starts `c · inPlaneStride` floats after `x`), or the block's `[H·W][lanes]` vectors
/// (Kiln's `NCHWc`, see ``pointwise_blocked_f32(_:blocked:plane:k:w:m:panels:pixels:y:outBlocked:epilogue:vector:)``),
/// `x` and `y` then pointing at the block's first vector and the plane strides unused.
@frozen public struct DepthwiseLayout: Sendable {
    /// Whether the input is channel-blocked.
    public var inputBlocked: Bool
    /// Whether the output is channel-blocked.
    public var outputBlocked: Bool
    /// With a blocked input, whether a 3×3 or 5×5 kernel (dilation 1, horizontal stride ≤ 2) reads
    /// it in place (``depthwise_blockedDirect_f32(_:x:filters:rows:out:activation:vector:)``)
    /// rather than copying each band into the zero-bordered scratch. The planner sets it for wide
    /// maps: on narrow ones the border pixels, computed one tap at a time, cost more than the copy.
    public var readInPlace: Bool
    /// A layout (both plain by default).
    @_alwaysEmitIntoClient
    public init(inputBlocked: Bool = false, outputBlocked: Bool = false, readInPlace: Bool = false) {
        self.inputBlocked = inputBlocked
        self.outputBlocked = outputBlocked
        self.readInPlace = readInPlace
    }
}

/// Output rows `rows` of one block of a 3×3 or 5×5 depthwise convolution (dilation 1, horizontal
/// stride 1 or 2) read straight from its channel-blocked input `x` (`[H·W][lanes]`), without the
/// zero-bordered copy: the pixels whose window lies inside the image go through
/// ``depthwise_rows3x3_f32(_:rowStep:band:outW:rowFloats:filters:bias:out:activation:stride:)`` /
/// ``depthwise_rows5x5_f32(_:rowStep:band:outW:tapRow:filters:bias:out:activation:stride:)`` row by
/// row, each border pixel sums only its taps inside the image. The same products in the same order
/// as the padded path (a tap on the zero border adds nothing). Writes `out` (`[rows · outW][lanes]`).
@_alwaysEmitIntoClient @inline(__always)
public func depthwise_blockedDirect_f32<V: KernelVector>(_ g: ConvWindow, x: UnsafePointer<Float>, filters: UnsafePointer<Float>,
                                                         rows: Range<Int>, out o: UnsafeMutablePointer<Float>,
                                                         activation act: Epilogue, vector: V.Type) {
    let L = V.lanes, k = g.kH
    let bias = V(load: filters + k &* k &* L)
    let rowFloats = g.inW &* L
    // Interior columns: ow·sW − padL ≥ 0 and ow·sW − padL + k ≤ inW.
    let owLo = min(g.outW, (max(g.padL, 0) &+ g.sW &- 1) / g.sW)
    let room = g.inW &- k &+ g.padL
    let owHi = room < 0 ? owLo : max(owLo, min(g.outW, room / g.sW &+ 1))
    @inline(__always) func border(_ ih0: Int, _ ow: Int, _ e: Int) {
        var a = bias
        let iw0 = ow &* g.sW &- g.padL
        for i in 0..<k {
            let ih = ih0 &+ i
            if ih < 0 || ih >= g.inH { continue }
            for j in 0..<k {
                let iw = iw0 &+ j
                if iw < 0 || iw >= g.inW { continue }
                a = a.fma(V(load: filters + (i &* k &+ j) &* L), V(load: x + (ih &* g.inW &+ iw) &* L))
            }
        }
        act.activate(a).store(o + e &* L)
    }
    for oh in rows {
        let ih0 = oh &* g.sH &- g.padT
        let e0 = (oh &- rows.lowerBound) &* g.outW
        guard ih0 >= 0 && ih0 &+ k <= g.inH && owHi > owLo else {
            for ow in 0..<g.outW { border(ih0, ow, e0 &+ ow) }
            continue
        }
        for ow in 0..<owLo { border(ih0, ow, e0 &+ ow) }
        let src = x + (ih0 &* g.inW &+ owLo &* g.sW &- g.padL) &* L
        let d = o + (e0 &+ owLo) &* L, n = owHi &- owLo
        if k == 3 {
            if g.sW == 1 {
                depthwise_rows3x3_f32(src, rowStep: 0, band: 1, outW: n, rowFloats: rowFloats, filters: filters, bias: bias,
                                      out: d, activation: act, stride: DepthwiseStride1.self)
            } else {
                depthwise_rows3x3_f32(src, rowStep: 0, band: 1, outW: n, rowFloats: rowFloats, filters: filters, bias: bias,
                                      out: d, activation: act, stride: DepthwiseStride2.self)
            }
        } else if g.sW == 1 {
            depthwise_rows5x5_f32(src, rowStep: 0, band: 1, outW: n, tapRow: rowFloats, filters: filters, bias: bias,
                                  out: d, activation: act, stride: DepthwiseStride1.self)
        } else {
            depthwise_rows5x5_f32(src, rowStep: 0, band: 1, outW: n, tapRow: rowFloats, filters: filters, bias: bias,
                                  out: d, activation: act, stride: DepthwiseStride2.self)
        }
        for ow in owHi..<g.outW { border(ih0, ow, e0 &+ ow) }
    }
}

/// A horizontal stride known when the kernel is specialized (so that pixel offsets are constants).
public protocol DepthwiseStride {
    /// The stride.
    static var value: Int { get }
}

/// Stride 1.
public enum DepthwiseStride1: DepthwiseStride {
    /// 1.
    @_alwaysEmitIntoClient @inline(__always) public static var value: Int { 1 }
}

/// Stride 2.
public enum DepthwiseStride2: DepthwiseStride {
    /// 2.
    @_alwaysEmitIntoClient @inline(__always) public static var value: Int { 2 }
}

/// The 5×5 channel-blocked depthwise over a band's rows of at least 8 output pixels, from the
/// interleaved scratch `p` (row `r` of the band starts `r · rowStep` floats in): eight pixels at a
/// time (eight FMA chains), then one by one, into `out` (`[band · outW][lanes]`).
///
/// Its own function, specialized per stride, rather than the shared local helpers of
/// ``depthwise_blocked_f32(_:x:inPlaneStride:channels:filters:y:outPlaneStride:rows:epilogue:scratch:layout:vector:)``:
/// there the compiler kept a call per eight pixels with the eight window pointers spilled and
/// reloaded per tap (two thirds of the time in moves). Here pixel `k` of tap (i, j) is
/// `row_i + (j + k·stride)·lanes`: one pointer per filter row and constant offsets (Zen 4, 144
/// channels over 56×56, stride 1: 0.69 → 0.40 ms).
@_alwaysEmitIntoClient @inline(__always)
public func depthwise_rows5x5_f32<V: KernelVector, S: DepthwiseStride>(
    _ p: UnsafePointer<Float>, rowStep: Int, band: Int, outW: Int, tapRow: Int, filters: UnsafePointer<Float>,
    bias: V, out o: UnsafeMutablePointer<Float>, activation act: Epilogue, stride: S.Type
) {
    let L = V.lanes, step = S.value &* V.lanes
    for r in 0..<band {
        let src = p + r &* rowStep
        var w0 = 0
        while w0 &+ 8 <= outW {
            var a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias
            let q = src + w0 &* step
            for i in 0..<5 {
                let qi = q + i &* tapRow, wi = filters + i &* 5 &* L
                for j in 0..<5 {
                    let wv = V(load: wi + j &* L), qj = qi + j &* L
                    a0 = a0.fma(wv, V(load: qj)); a1 = a1.fma(wv, V(load: qj + step))
                    a2 = a2.fma(wv, V(load: qj + 2 &* step)); a3 = a3.fma(wv, V(load: qj + 3 &* step))
                    a4 = a4.fma(wv, V(load: qj + 4 &* step)); a5 = a5.fma(wv, V(load: qj + 5 &* step))
                    a6 = a6.fma(wv, V(load: qj + 6 &* step)); a7 = a7.fma(wv, V(load: qj + 7 &* step))
                }
            }
            let d = o + (r &* outW &+ w0) &* L
            act.activate(a0).store(d); act.activate(a1).store(d + L)
            act.activate(a2).store(d + 2 &* L); act.activate(a3).store(d + 3 &* L)
            act.activate(a4).store(d + 4 &* L); act.activate(a5).store(d + 5 &* L)
            act.activate(a6).store(d + 6 &* L); act.activate(a7).store(d + 7 &* L)
            w0 &+= 8
        }
        while w0 < outW {
            var a = bias
            let q = src + w0 &* step
            for i in 0..<5 {
                for j in 0..<5 { a = a.fma(V(load: filters + (i &* 5 &+ j) &* L), V(load: q + (i &* tapRow &+ j &* L))) }
            }
            act.activate(a).store(o + (r &* outW &+ w0) &* L)
            w0 &+= 1
        }
    }
}

/// The 3×3 channel-blocked depthwise over a band's rows of at least 8 output pixels, from the
/// interleaved scratch `p` (row `r` of the band starts `r · rowStep` floats in, input rows are
/// `rowFloats` apart): the nine filter vectors in registers, six pixels at a time — six chains of
/// nine dependent FMAs, 15 of the 16 AVX2 registers (four chains left the FMA units waiting on
/// latency) — then one by one, into `out` (`[band · outW][lanes]`). Specialized per stride, so
/// pixel `k` of tap (i, j) is `row_i + (j + k·stride)·lanes`, constant offsets (see
/// ``depthwise_rows5x5_f32(_:rowStep:band:outW:tapRow:filters:bias:out:activation:stride:)``).
@_alwaysEmitIntoClient @inline(__always)
public func depthwise_rows3x3_f32<V: KernelVector, S: DepthwiseStride>(
    _ p: UnsafePointer<Float>, rowStep: Int, band: Int, outW: Int, rowFloats: Int, filters: UnsafePointer<Float>,
    bias: V, out o: UnsafeMutablePointer<Float>, activation act: Epilogue, stride: S.Type
) {
    let L = V.lanes, step = S.value &* V.lanes
    let k0 = V(load: filters), k1 = V(load: filters + L), k2 = V(load: filters + 2 &* L)
    let k3 = V(load: filters + 3 &* L), k4 = V(load: filters + 4 &* L), k5 = V(load: filters + 5 &* L)
    let k6 = V(load: filters + 6 &* L), k7 = V(load: filters + 7 &* L), k8 = V(load: filters + 8 &* L)
    @inline(__always) func pixel(_ q0: UnsafePointer<Float>, _ q1: UnsafePointer<Float>, _ q2: UnsafePointer<Float>, _ k: Int) -> V {
        let c = k &* step
        var a = bias.fma(k0, V(load: q0 + c))
        a = a.fma(k1, V(load: q0 + (c &+ L))); a = a.fma(k2, V(load: q0 + (c &+ 2 &* L)))
        a = a.fma(k3, V(load: q1 + c)); a = a.fma(k4, V(load: q1 + (c &+ L))); a = a.fma(k5, V(load: q1 + (c &+ 2 &* L)))
        a = a.fma(k6, V(load: q2 + c)); a = a.fma(k7, V(load: q2 + (c &+ L))); a = a.fma(k8, V(load: q2 + (c &+ 2 &* L)))
        return a
    }
    for r in 0..<band {
        let src = p + r &* rowStep
        var w0 = 0
        while w0 &+ 6 <= outW {
            let q0 = src + w0 &* step, q1 = q0 + rowFloats, q2 = q1 + rowFloats
            let a0 = pixel(q0, q1, q2, 0), a1 = pixel(q0, q1, q2, 1), a2 = pixel(q0, q1, q2, 2)
            let a3 = pixel(q0, q1, q2, 3), a4 = pixel(q0, q1, q2, 4), a5 = pixel(q0, q1, q2, 5)
            let d = o + (r &* outW &+ w0) &* L
            act.activate(a0).store(d); act.activate(a1).store(d + L); act.activate(a2).store(d + 2 &* L)
            act.activate(a3).store(d + 3 &* L); act.activate(a4).store(d + 4 &* L); act.activate(a5).store(d + 5 &* L)
            w0 &+= 6
        }
        while w0 < outW {
            let q0 = src + w0 &* step, q1 = q0 + rowFloats, q2 = q1 + rowFloats
            act.activate(pixel(q0, q1, q2, 0)).store(o + (r &* outW &+ w0) &* L)
            w0 &+= 1
        }
    }
}
