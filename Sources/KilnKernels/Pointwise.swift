// 1×1 convolutions that write channel-blocked activations.
//
// A channel-blocked tensor (Kiln's `NCHWc`) stores `[N, C, H, W]` as `[N][C / L][H·W][L]`, `L` the
// variant's lanes: the `L` channels of one pixel are one vector. Depthwise convolutions work on that
// layout directly (``depthwise_blocked_f32(_:x:inPlaneStride:channels:filters:y:outPlaneStride:rows:epilogue:scratch:layout:vector:)``),
// so a MobileNet block — 1×1 expand, depthwise, 1×1 project — runs without transposing its
// activations between the plain and the blocked layout.
//
// The 1×1 convolution here is a GEMM in the transposed orientation: a tile is `R` pixels (rows) ×
// `F·L` output channels (columns). The pixels' input channels are broadcast straight from the
// activation — no packing: in the blocked layout pixel `p`'s channel `k` is at
// `(k / L)·plane·L + p·L + k mod L`, in the plain layout at `k·plane + p` — and the weights are packed
// once, at load, as `[K][F·L]` panels (``pointwise_packWeights_f32(_:m:k:lanes:into:)``). Each tile
// row is then `F` whole vectors of the blocked output: bias, residual and activation apply to them
// while they are in registers.

/// How many vectors of output channels a pointwise tile computes (its panel's width in vectors).
public protocol PointwiseVectors {
    /// 1 or 2.
    static var count: Int { get }
}
/// Two vectors: the full panel of `2·L` channels.
public enum PointwiseVectors2: PointwiseVectors {
    @_alwaysEmitIntoClient @inline(__always) public static var count: Int { 2 }
}
/// One vector: a last panel of `L` channels (`M` an odd multiple of `L`).
public enum PointwiseVectors1: PointwiseVectors {
    @_alwaysEmitIntoClient @inline(__always) public static var count: Int { 1 }
}
/// One row: the last pixels of a range that are not a whole tile of six or four.
public enum GemmMicroRows1: GemmMicroRows {
    @_alwaysEmitIntoClient @inline(__always) public static var count: Int { 1 }
}

/// Floats of ``pointwise_packWeights_f32(_:m:k:lanes:into:)``'s output.
@_alwaysEmitIntoClient
public func pointwisePackedCount(m: Int, k: Int, lanes: Int) -> Int {
    max(1, (m &+ 2 &* lanes &- 1) / (2 &* lanes) &* 2 &* lanes &* k)
}

/// Packs a 1×1 convolution's weights `W` (`[M × K]`, row-major, `M` a multiple of `lanes`) into
/// panels of `2·lanes` output channels: panel `j` starts at `j · 2·lanes · K` and holds `K` rows of
/// its channels (`[K][2·lanes]`; a last panel of `lanes` channels is `[K][lanes]`).
@_alwaysEmitIntoClient
public func pointwise_packWeights_f32(_ w: UnsafePointer<Float>, m: Int, k: Int, lanes: Int,
                                      into dst: UnsafeMutablePointer<Float>) {
    let nr = 2 &* lanes
    var c0 = 0
    while c0 < m {
        let width = min(nr, m &- c0)
        let panel = dst + c0 &* k
        for kk in 0..<k {
            for j in 0..<width { panel[kk &* width &+ j] = w[(c0 &+ j) &* k &+ kk] }
        }
        c0 &+= nr
    }
}

/// One pointwise tile: pixels `p0 ..< p0 + R.count` × channels `c0 ..< c0 + F.count·L` of one image,
/// `y = act(W·x + bias + residual)`, written to the blocked output.
/// - Parameters:
///   - x: The image's input; blocked when `blocked` (then `k` is a multiple of `L`).
///   - w: The panel's packed weights (`[k][F·L]`).
///   - y: The image's output, blocked or (`outBlocked == false`) plain; the residual (if any) has
///     the same layout.
///   - act: `false` leaves the activation to a later pass (a costly one).
@_alwaysEmitIntoClient @inline(__always)
public func pointwise_tile_f32<V: KernelVector, R: GemmMicroRows, F: PointwiseVectors>(
    _ x: UnsafePointer<Float>, blocked: Bool, plane: Int, k: Int, w: UnsafePointer<Float>, p0: Int, c0: Int,
    y: UnsafeMutablePointer<Float>, outBlocked: Bool, epilogue: Epilogue, act: Bool, vector: V.Type, rows: R.Type, vectors: F.Type
) {
    let L = V.lanes
    var c00 = V(broadcast: 0), c01 = V(broadcast: 0), c10 = V(broadcast: 0), c11 = V(broadcast: 0)
    var c20 = V(broadcast: 0), c21 = V(broadcast: 0), c30 = V(broadcast: 0), c31 = V(broadcast: 0)
    var c40 = V(broadcast: 0), c41 = V(broadcast: 0), c50 = V(broadcast: 0), c51 = V(broadcast: 0)
    var wp = w
    let wStep = F.count &* L
    if blocked {
        // Block by block of L input channels; pixel i's channel kk of the block at a[i·L + kk].
        var a = x + p0 &* L
        let blockStride = plane &* L
        for _ in 0..<(k / L) {
            var q = a
            for _ in 0..<L {
                let b0 = V(load: wp), b1 = F.count > 1 ? V(load: wp + L) : b0
                var av = V(broadcast: q[0]); c00 = c00.fma(av, b0); if F.count > 1 { c01 = c01.fma(av, b1) }
                if R.count > 1 { av = V(broadcast: q[L]); c10 = c10.fma(av, b0); if F.count > 1 { c11 = c11.fma(av, b1) } }
                if R.count > 2 { av = V(broadcast: q[2 &* L]); c20 = c20.fma(av, b0); if F.count > 1 { c21 = c21.fma(av, b1) } }
                if R.count > 3 { av = V(broadcast: q[3 &* L]); c30 = c30.fma(av, b0); if F.count > 1 { c31 = c31.fma(av, b1) } }
                if R.count > 4 { av = V(broadcast: q[4 &* L]); c40 = c40.fma(av, b0); if F.count > 1 { c41 = c41.fma(av, b1) } }
                if R.count > 5 { av = V(broadcast: q[5 &* L]); c50 = c50.fma(av, b0); if F.count > 1 { c51 = c51.fma(av, b1) } }
                q += 1
                wp += wStep
            }
            a += blockStride
        }
    } else {
        // Plain: channel kk's pixels are a row of the plane; six neighbours per broadcast group.
        var q = x + p0
        for _ in 0..<k {
            let b0 = V(load: wp), b1 = F.count > 1 ? V(load: wp + L) : b0
            var av = V(broadcast: q[0]); c00 = c00.fma(av, b0); if F.count > 1 { c01 = c01.fma(av, b1) }
            if R.count > 1 { av = V(broadcast: q[1]); c10 = c10.fma(av, b0); if F.count > 1 { c11 = c11.fma(av, b1) } }
            if R.count > 2 { av = V(broadcast: q[2]); c20 = c20.fma(av, b0); if F.count > 1 { c21 = c21.fma(av, b1) } }
            if R.count > 3 { av = V(broadcast: q[3]); c30 = c30.fma(av, b0); if F.count > 1 { c31 = c31.fma(av, b1) } }
            if R.count > 4 { av = V(broadcast: q[4]); c40 = c40.fma(av, b0); if F.count > 1 { c41 = c41.fma(av, b1) } }
            if R.count > 5 { av = V(broadcast: q[5]); c50 = c50.fma(av, b0); if F.count > 1 { c51 = c51.fma(av, b1) } }
            q += plane
            wp += wStep
        }
    }
    let ep = epilogue
    if !outBlocked {
        pointwise_storePlain_f32((c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51), plane: plane, p0: p0, c0: c0, y: y,
                                 epilogue: ep, act: act, rows: R.self, vectors: F.self)
        return
    }
    pointwise_storeBlocked_f32((c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51), plane: plane, p0: p0, c0: c0, y: y,
                               epilogue: ep, residual: true, act: act, rows: R.self, vectors: F.self)
}

/// The store of a tile's accumulators (pairs per row: the row's two channel vectors) into the
/// blocked output, with bias, the blocked residual when `residual`, and the activation when `act`.
@_alwaysEmitIntoClient @inline(__always)
public func pointwise_storeBlocked_f32<V: KernelVector, R: GemmMicroRows, F: PointwiseVectors>(
    _ acc: (V, V, V, V, V, V, V, V, V, V, V, V), plane: Int, p0: Int, c0: Int, y: UnsafeMutablePointer<Float>,
    epilogue ep: Epilogue, residual: Bool, act: Bool, rows: R.Type, vectors: F.Type
) {
    let L = V.lanes, blockStride = plane &* L
    let bias0 = ep.bias.map { V(load: $0 + c0) } ?? V(broadcast: 0)
    let bias1 = F.count > 1 ? (ep.bias.map { V(load: $0 + (c0 &+ L)) } ?? V(broadcast: 0)) : bias0
    let out0 = y + ((c0 / L) &* blockStride &+ p0 &* L)
    let res0 = residual ? ep.residual.map { $0 + ((c0 / L) &* blockStride &+ p0 &* L) } : nil
    @inline(__always) func put(_ i: Int, _ x0: V, _ x1: V) {
        var v0 = x0 + bias0, v1 = x1 + bias1
        if let r = res0 {
            v0 = v0 + V(load: r + i &* L)
            if F.count > 1 { v1 = v1 + V(load: r + (blockStride &+ i &* L)) }
        }
        if act { v0 = ep.activate(v0); v1 = ep.activate(v1) }
        v0.store(out0 + i &* L)
        if F.count > 1 { v1.store(out0 + (blockStride &+ i &* L)) }
    }
    pointwise_eachRow(acc, rows: R.self, put)
}

/// `body(i, first, second)` for the tile's rows `i < R.count`: the accumulator pairs of
/// `acc` (row-major).
@_alwaysEmitIntoClient @inline(__always)
public func pointwise_eachRow<V: KernelVector, R: GemmMicroRows>(_ acc: (V, V, V, V, V, V, V, V, V, V, V, V), rows: R.Type,
                                                                 _ body: (Int, V, V) -> Void) {
    body(0, acc.0, acc.1)
    if R.count > 1 { body(1, acc.2, acc.3) }
    if R.count > 2 { body(2, acc.4, acc.5) }
    if R.count > 3 { body(3, acc.6, acc.7) }
    if R.count > 4 { body(4, acc.8, acc.9) }
    if R.count > 5 { body(5, acc.10, acc.11) }
}

/// The store of a pointwise tile into a plain output (a 1×1 convolution whose reader needs NCHW):
/// through a small buffer, then channel by channel — each of the `F·L` channels takes `R`
/// consecutive pixels. Its own function, so the accumulators stay in registers in the kernel.
@_alwaysEmitIntoClient @inline(never)
public func pointwise_storePlain_f32<V: KernelVector, R: GemmMicroRows, F: PointwiseVectors>(
    _ acc: (V, V, V, V, V, V, V, V, V, V, V, V), plane: Int, p0: Int, c0: Int, y: UnsafeMutablePointer<Float>,
    epilogue ep: Epilogue, act: Bool, rows: R.Type, vectors: F.Type
) {
    let L = V.lanes, width = F.count &* L
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 12 &* L) { buffer in
        let t = buffer.baseAddress!
        @inline(__always) func keep(_ i: Int, _ x0: V, _ x1: V) {
            x0.store(t + i &* width)
            if F.count > 1 { x1.store(t + (i &* width &+ L)) }
        }
        pointwise_eachRow(acc, rows: R.self, keep)
        for j in 0..<width {
            let c = c0 &+ j
            let b = ep.bias?[c] ?? 0
            let row = c &* plane &+ p0
            for i in 0..<R.count {
                var v = t[i &* width &+ j] + b
                if let r = ep.residual { v += r[row &+ i] }
                y[row &+ i] = act ? ep.activate(v, V.self) : v
            }
        }
    }
}

/// The tiles of pixels `pixels` for one panel: six pixels at a time, then four, then one.
@_alwaysEmitIntoClient @inline(__always)
public func pointwise_tiles_f32<V: KernelVector, F: PointwiseVectors>(
    _ x: UnsafePointer<Float>, blocked: Bool, plane: Int, k: Int, w: UnsafePointer<Float>, pixels: Range<Int>, c0: Int,
    y: UnsafeMutablePointer<Float>, outBlocked: Bool, epilogue: Epilogue, act: Bool, vector: V.Type, vectors: F.Type
) {
    var p = pixels.lowerBound
    let hi = pixels.upperBound
    while p &+ 6 <= hi {
        pointwise_tile_f32(x, blocked: blocked, plane: plane, k: k, w: w, p0: p, c0: c0, y: y, outBlocked: outBlocked,
                           epilogue: epilogue, act: act, vector: V.self, rows: GemmMicroRows6.self, vectors: F.self)
        p &+= 6
    }
    if p &+ 4 <= hi {
        pointwise_tile_f32(x, blocked: blocked, plane: plane, k: k, w: w, p0: p, c0: c0, y: y, outBlocked: outBlocked,
                           epilogue: epilogue, act: act, vector: V.self, rows: GemmMicroRows4.self, vectors: F.self)
        p &+= 4
    }
    while p < hi {
        pointwise_tile_f32(x, blocked: blocked, plane: plane, k: k, w: w, p0: p, c0: c0, y: y, outBlocked: outBlocked,
                           epilogue: epilogue, act: act, vector: V.self, rows: GemmMicroRows1.self, vectors: F.self)
        p &+= 1
    }
}

/// A 1×1, stride-1 convolution of one image into the channel-blocked layout, over output-channel
/// panels `panels` (of `2·L` channels) and pixels `pixels`: `y = act(W·x + bias + residual)`.
/// - Parameters:
///   - x: The image's input `[K, plane]`, plain, or blocked (`[K / L][plane][L]`) when `blocked`.
///   - w: ``pointwise_packWeights_f32(_:m:k:lanes:into:)``'s panels.
///   - m: Output channels, a multiple of `L`.
///   - y: The image's blocked output `[M / L][plane][L]`, or plain `[M, plane]` when `outBlocked` is
///     `false` (a reader that needs NCHW; the tile then goes out through a buffer). The epilogue's
///     bias has `m` values and its residual (if any) has `y`'s layout.
@_alwaysEmitIntoClient @inline(__always)
public func pointwise_blocked_f32<V: KernelVector>(_ x: UnsafePointer<Float>, blocked: Bool, plane: Int, k: Int,
                                                  w: UnsafePointer<Float>, m: Int, panels: Range<Int>, pixels: Range<Int>,
                                                  y: UnsafeMutablePointer<Float>, outBlocked: Bool = true, epilogue: Epilogue,
                                                  vector: V.Type) {
    let L = V.lanes
    let deferred = epilogue.hasCostlyActivation
    // When the range's input (K × pixels floats) fits in L2 (the 7×7 and 14×14 stages), one chunk:
    // each panel's weights stream once and the input is reread from L2. Otherwise (large maps,
    // small K) chunks whose input stays in L1 while every panel passes over it.
    let chunk = k &* pixels.count <= 65_536 ? max(1, pixels.count) : max(6, (8192 / max(k, 1)) / 6 &* 6)
    var lo = pixels.lowerBound
    while lo < pixels.upperBound {
        let hi = min(pixels.upperBound, lo &+ chunk)
        for panel in panels {
            let c0 = panel &* 2 &* L
            let wp = w + c0 &* k
            let two = m &- c0 >= 2 &* L
            if two {
                pointwise_tiles_f32(x, blocked: blocked, plane: plane, k: k, w: wp, pixels: lo..<hi, c0: c0, y: y,
                                    outBlocked: outBlocked, epilogue: epilogue, act: !deferred, vector: V.self, vectors: PointwiseVectors2.self)
            } else {
                pointwise_tiles_f32(x, blocked: blocked, plane: plane, k: k, w: wp, pixels: lo..<hi, c0: c0, y: y,
                                    outBlocked: outBlocked, epilogue: epilogue, act: !deferred, vector: V.self, vectors: PointwiseVectors1.self)
            }
            if deferred {
                // The finished pixels of the panel's blocks, still in the caches.
                if outBlocked {
                    for f in 0..<(two ? 2 : 1) {
                        epilogue.activateInPlace(y + ((c0 / L &+ f) &* plane &+ lo) &* L, count: (hi &- lo) &* L, vector: V.self)
                    }
                } else {
                    for c in c0..<(c0 &+ (two ? 2 : 1) &* L) {
                        epilogue.activateInPlace(y + (c &* plane &+ lo), count: hi &- lo, vector: V.self)
                    }
                }
            }
        }
        lo = hi
    }
}

/// Global pooling of channel-blocked blocks `blocks` (each `[plane][L]`): `y[b·L + l]` = the mean or
/// maximum of lane `l` of block `b` over its `plane` pixels. Two accumulators per lane vector; NaN
/// as in ``pool_globalPlanes_f32(_:size:planes:isMax:y:vector:)``.
@_alwaysEmitIntoClient @inline(__always)
public func pool_globalBlocked_f32<V: KernelVector>(_ x: UnsafePointer<Float>, plane: Int, blocks: Range<Int>, isMax: Bool,
                                                    y: UnsafeMutablePointer<Float>, vector: V.Type) {
    let L = V.lanes
    for b in blocks {
        let src = x + b &* plane &* L
        var i = 0
        if isMax {
            var a0 = V(broadcast: -.infinity), a1 = a0
            while i &+ 2 <= plane {
                a0 = a0.clampedBelow(V(load: src + i &* L)); a1 = a1.clampedBelow(V(load: src + (i &+ 1) &* L))
                i &+= 2
            }
            if i < plane { a0 = a0.clampedBelow(V(load: src + i &* L)) }
            a0.clampedBelow(a1).store(y + b &* L)
        } else {
            var a0 = V(broadcast: 0), a1 = a0
            while i &+ 2 <= plane {
                a0 = a0 + V(load: src + i &* L); a1 = a1 + V(load: src + (i &+ 1) &* L)
                i &+= 2
            }
            if i < plane { a0 = a0 + V(load: src + i &* L) }
            ((a0 + a1) * V(broadcast: 1 / Float(plane))).store(y + b &* L)
        }
    }
}

/// An arithmetic op between a channel-blocked tensor and one value per channel, lane by lane.
@frozen public enum ChannelOp: Int32, Sendable {
    /// `x + v`.
    case add = 0
    /// `x − v`, or `v − x` with ``ChannelOp/reversedSub``.
    case sub = 1
    /// `x · v`.
    case mul = 2
    /// `x / v`, or `v / x` with ``ChannelOp/reversedDiv``.
    case div = 3
    /// `v − x`.
    case reversedSub = 4
    /// `v / x`.
    case reversedDiv = 5
}

/// `y = x ⊕ v` for blocks `blocks` of a channel-blocked tensor (`[plane][L]` each) and one value per
/// channel (`v[b·L + l]` for lane `l` of block `b`): a squeeze-and-excitation scale, for one.
@_alwaysEmitIntoClient @inline(__always)
public func blocked_channelOp_f32<V: KernelVector>(_ x: UnsafePointer<Float>, values v: UnsafePointer<Float>, plane: Int,
                                                  blocks: Range<Int>, op: ChannelOp, y: UnsafeMutablePointer<Float>,
                                                  vector: V.Type) {
    let L = V.lanes
    @inline(__always) func run(_ f: (V, V) -> V) {
        for b in blocks {
            let c = V(load: v + b &* L)
            let src = x + b &* plane &* L, dst = y + b &* plane &* L
            var i = 0
            while i &+ 2 <= plane {
                f(V(load: src + i &* L), c).store(dst + i &* L)
                f(V(load: src + (i &+ 1) &* L), c).store(dst + (i &+ 1) &* L)
                i &+= 2
            }
            if i < plane { f(V(load: src + i &* L), c).store(dst + i &* L) }
        }
    }
    switch op {
    case .add: run { $0 + $1 }
    case .sub: run { $0 - $1 }
    case .mul: run { $0 * $1 }
    case .div: run { $0 / $1 }
    case .reversedSub: run { $1 - $0 }
    case .reversedDiv: run { $1 / $0 }
    }
}

/// One tile of a direct convolution into the blocked layout (a stem: few input channels, so that
/// `K = C·kH·kW` is small): output pixels `p0 ..< p0 + R.count` of one output row × channels
/// `c0 ..< c0 + F.count·L`, every tap inside the input. Tap `t` of pixel `i` reads
/// `x[taps[t] + i·stride]` (`x` the first tap of the tile's first pixel): the input is read where
/// it is, with no im2col.
@_alwaysEmitIntoClient @inline(__always)
public func conv_directTile_f32<V: KernelVector, R: GemmMicroRows, F: PointwiseVectors>(
    _ x: UnsafePointer<Float>, taps: UnsafePointer<Int>, k: Int, stride: Int, w: UnsafePointer<Float>, p0: Int, c0: Int,
    plane: Int, y: UnsafeMutablePointer<Float>, epilogue ep: Epilogue, act: Bool, vector: V.Type, rows: R.Type, vectors: F.Type
) {
    let L = V.lanes
    var c00 = V(broadcast: 0), c01 = V(broadcast: 0), c10 = V(broadcast: 0), c11 = V(broadcast: 0)
    var c20 = V(broadcast: 0), c21 = V(broadcast: 0), c30 = V(broadcast: 0), c31 = V(broadcast: 0)
    var c40 = V(broadcast: 0), c41 = V(broadcast: 0), c50 = V(broadcast: 0), c51 = V(broadcast: 0)
    var wp = w
    let wStep = F.count &* L
    let s2 = stride &* 2, s3 = stride &* 3, s4 = stride &* 4, s5 = stride &* 5
    for t in 0..<k {
        let q = x + taps[t]
        let b0 = V(load: wp), b1 = F.count > 1 ? V(load: wp + L) : b0
        var av = V(broadcast: q[0]); c00 = c00.fma(av, b0); if F.count > 1 { c01 = c01.fma(av, b1) }
        if R.count > 1 { av = V(broadcast: q[stride]); c10 = c10.fma(av, b0); if F.count > 1 { c11 = c11.fma(av, b1) } }
        if R.count > 2 { av = V(broadcast: q[s2]); c20 = c20.fma(av, b0); if F.count > 1 { c21 = c21.fma(av, b1) } }
        if R.count > 3 { av = V(broadcast: q[s3]); c30 = c30.fma(av, b0); if F.count > 1 { c31 = c31.fma(av, b1) } }
        if R.count > 4 { av = V(broadcast: q[s4]); c40 = c40.fma(av, b0); if F.count > 1 { c41 = c41.fma(av, b1) } }
        if R.count > 5 { av = V(broadcast: q[s5]); c50 = c50.fma(av, b0); if F.count > 1 { c51 = c51.fma(av, b1) } }
        wp += wStep
    }
    pointwise_storeBlocked_f32((c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51), plane: plane, p0: p0, c0: c0, y: y,
                               epilogue: ep, residual: false, act: act, rows: R.self, vectors: F.self)
}

/// One output pixel of a direct convolution near the border: the taps inside the input only.
@_alwaysEmitIntoClient @inline(__always)
public func conv_directPixel_f32<V: KernelVector, F: PointwiseVectors>(
    _ x: UnsafePointer<Float>, _ g: ConvWindow, channels: Int, oh: Int, ow: Int, w: UnsafePointer<Float>, c0: Int, plane: Int,
    y: UnsafeMutablePointer<Float>, epilogue ep: Epilogue, act: Bool, vector: V.Type, vectors: F.Type
) {
    let L = V.lanes, wStep = F.count &* L
    var a0 = ep.bias.map { V(load: $0 + c0) } ?? V(broadcast: 0)
    var a1 = F.count > 1 ? (ep.bias.map { V(load: $0 + (c0 &+ L)) } ?? V(broadcast: 0)) : a0
    let ih0 = oh &* g.sH &- g.padT, iw0 = ow &* g.sW &- g.padL
    let inPlane = g.inH &* g.inW
    var wp = w
    for c in 0..<channels {
        for i in 0..<g.kH {
            let ih = ih0 &+ i &* g.dH
            for j in 0..<g.kW {
                let iw = iw0 &+ j &* g.dW
                if ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW {
                    let v = V(broadcast: x[c &* inPlane &+ ih &* g.inW &+ iw])
                    a0 = a0.fma(v, V(load: wp))
                    if F.count > 1 { a1 = a1.fma(v, V(load: wp + L)) }
                }
                wp += wStep
            }
        }
    }
    if act { a0 = ep.activate(a0); a1 = ep.activate(a1) }
    let out = y + ((c0 / L) &* plane &+ oh &* g.outW &+ ow) &* L
    a0.store(out)
    if F.count > 1 { a1.store(out + plane &* L) }
}

/// One output row of ``conv_directBlocked_f32(_:_:channels:taps:w:m:panels:rows:y:epilogue:vector:)``
/// for one panel (`lo ..< hi`: the columns whose taps are inside the input horizontally).
@_alwaysEmitIntoClient @inline(__always)
public func conv_directRow_f32<V: KernelVector, F: PointwiseVectors>(
    _ x: UnsafePointer<Float>, _ g: ConvWindow, channels: Int, taps: UnsafePointer<Int>, k: Int, lo: Int, hi: Int, oh: Int,
    w wp: UnsafePointer<Float>, c0: Int, y: UnsafeMutablePointer<Float>, epilogue: Epilogue, act: Bool, vector: V.Type, vectors: F.Type
) {
    let plane = g.outH &* g.outW
    let deferred = !act
    let ih0 = oh &* g.sH &- g.padT
    let inside = ih0 >= 0 && ih0 &+ (g.kH &- 1) &* g.dH < g.inH
    let p = oh &* g.outW
    if !inside {
        for ow in 0..<g.outW {
            conv_directPixel_f32(x, g, channels: channels, oh: oh, ow: ow, w: wp, c0: c0, plane: plane, y: y, epilogue: epilogue,
                                 act: !deferred, vector: V.self, vectors: F.self)
        }
        return
    }
    for ow in 0..<lo {
        conv_directPixel_f32(x, g, channels: channels, oh: oh, ow: ow, w: wp, c0: c0, plane: plane, y: y, epilogue: epilogue,
                             act: !deferred, vector: V.self, vectors: F.self)
    }
    let base = x + (ih0 &* g.inW &- g.padL)
    var ow = lo
    while ow &+ 6 <= hi {
        conv_directTile_f32(base + ow &* g.sW, taps: taps, k: k, stride: g.sW, w: wp, p0: p &+ ow, c0: c0, plane: plane, y: y,
                            epilogue: epilogue, act: !deferred, vector: V.self, rows: GemmMicroRows6.self, vectors: F.self)
        ow &+= 6
    }
    if ow &+ 4 <= hi {
        conv_directTile_f32(base + ow &* g.sW, taps: taps, k: k, stride: g.sW, w: wp, p0: p &+ ow, c0: c0, plane: plane, y: y,
                            epilogue: epilogue, act: !deferred, vector: V.self, rows: GemmMicroRows4.self, vectors: F.self)
        ow &+= 4
    }
    while ow < hi {
        conv_directTile_f32(base + ow &* g.sW, taps: taps, k: k, stride: g.sW, w: wp, p0: p &+ ow, c0: c0, plane: plane, y: y,
                            epilogue: epilogue, act: !deferred, vector: V.self, rows: GemmMicroRows1.self, vectors: F.self)
        ow &+= 1
    }
    for ow in max(hi, lo)..<g.outW {
        conv_directPixel_f32(x, g, channels: channels, oh: oh, ow: ow, w: wp, c0: c0, plane: plane, y: y, epilogue: epilogue,
                             act: !deferred, vector: V.self, vectors: F.self)
    }
}

/// A direct convolution of one image (few input channels: a stem) into the blocked layout, output
/// rows `rows`, channel panels `panels` (of `2·L`): six pixels of a row at a time where every tap
/// is inside the input, border pixels one by one with the taps outside skipped (zero padding).
/// - Parameters:
///   - x: The image's plain input `[C, inH, inW]`.
///   - w: ``pointwise_packWeights_f32(_:m:k:lanes:into:)``'s panels of `W` as `[M × C·kH·kW]`.
///   - taps: `C·kH·kW` offsets, `c·inH·inW + i·dH·inW + j·dW` in the weights' order.
///   - y: The image's blocked output; the epilogue's bias has `m` values (no residual).
@_alwaysEmitIntoClient @inline(__always)
public func conv_directBlocked_f32<V: KernelVector>(_ x: UnsafePointer<Float>, _ g: ConvWindow, channels: Int, taps: UnsafePointer<Int>,
                                                   w: UnsafePointer<Float>, m: Int, panels: Range<Int>, rows: Range<Int>,
                                                   y: UnsafeMutablePointer<Float>, epilogue: Epilogue, vector: V.Type) {
    let L = V.lanes
    let k = channels &* g.kH &* g.kW
    let plane = g.outH &* g.outW
    let deferred = epilogue.hasCostlyActivation
    // Output columns whose taps are all inside the input horizontally.
    var lo = 0
    while lo < g.outW && lo &* g.sW &- g.padL < 0 { lo &+= 1 }
    var hi = g.outW
    while hi > lo && (hi &- 1) &* g.sW &- g.padL &+ (g.kW &- 1) &* g.dW >= g.inW { hi &-= 1 }
    for panel in panels {
        let c0 = panel &* 2 &* L
        let wp = w + c0 &* k
        let two = m &- c0 >= 2 &* L
        for oh in rows {
            if two {
                conv_directRow_f32(x, g, channels: channels, taps: taps, k: k, lo: lo, hi: hi, oh: oh, w: wp, c0: c0, y: y,
                                   epilogue: epilogue, act: !deferred, vector: V.self, vectors: PointwiseVectors2.self)
            } else {
                conv_directRow_f32(x, g, channels: channels, taps: taps, k: k, lo: lo, hi: hi, oh: oh, w: wp, c0: c0, y: y,
                                   epilogue: epilogue, act: !deferred, vector: V.self, vectors: PointwiseVectors1.self)
            }
        }
        if deferred {
            for f in 0..<(two ? 2 : 1) {
                epilogue.activateInPlace(y + ((c0 / L &+ f) &* plane &+ rows.lowerBound &* g.outW) &* L,
                                         count: rows.count &* g.outW &* L, vector: V.self)
            }
        }
    }
}
