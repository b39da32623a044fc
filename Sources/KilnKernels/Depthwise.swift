// Depthwise 2-D convolution, NCHW: one input plane, one kH × kW filter, one output plane per call.
//
// The input plane is first copied into a zero-bordered scratch plane wide enough that every output
// vector's window is inside it; the convolution then runs with no bounds checks: output rows four at
// a time (four independent accumulator chains hide the FMA latency), `V.lanes` outputs per vector,
// each tap a broadcast weight times an unaligned load of the padded row (stride 1) or of its even
// elements (stride 2). Other strides read the padded plane element by element.

extension ConvWindow {
    /// Columns of the padded scratch plane for vectors of `lanes` outputs.
    @_alwaysEmitIntoClient
    public func paddedWidth(lanes: Int) -> Int {
        let vectors = (outW &+ lanes &- 1) / lanes
        // Last column read: the last lane of the last vector at the last tap (+1: a stride-2 load
        // reads 2·lanes floats).
        let last = (vectors &* lanes &- 1) &* sW &+ (kW &- 1) &* dW &+ 1
        return max(padL &+ inW, last &+ 1)
    }

    /// Rows of the padded scratch plane.
    @_alwaysEmitIntoClient
    public var paddedHeight: Int { max(1, (outH &- 1) &* sH &+ (kH &- 1) &* dH &+ 1) }

    /// Floats of scratch one plane needs.
    @_alwaysEmitIntoClient
    public func scratchCount(lanes: Int) -> Int { paddedHeight &* paddedWidth(lanes: lanes) &+ 2 &* lanes }
}

/// One depthwise plane: `y = act(bias + Σ w[i][j] · x[oh·sH − padT + i·dH][ow·sW − padL + j·dW])`.
/// - Parameters:
///   - x: The input plane, `inH × inW`.
///   - w: The filter, `kH × kW`.
///   - y: The output plane, `outH × outW`, fully overwritten.
///   - scratch: ``ConvWindow/scratchCount(lanes:)`` floats.
@_alwaysEmitIntoClient @inline(__always)
public func depthwise_f32<V: KernelVector>(_ g: ConvWindow, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                           bias: Float, y: UnsafeMutablePointer<Float>, epilogue: Epilogue,
                                           scratch: UnsafeMutablePointer<Float>, vector: V.Type) {
    let L = V.lanes
    let wp = g.paddedWidth(lanes: L), hp = g.paddedHeight
    // Padded plane: P[r][c] = x[r − padT][c − padL], zero outside.
    for r in 0..<hp {
        let dst = scratch + r &* wp
        let ih = r &- g.padT
        if ih < 0 || ih >= g.inH {
            dst.update(repeating: 0, count: wp)
            continue
        }
        let left = min(g.padL, wp)
        if left > 0 { dst.update(repeating: 0, count: left) }
        let copy = min(g.inW, wp &- left)
        if copy > 0 { (dst + left).update(from: x + ih &* g.inW, count: copy) }
        let right = wp &- left &- max(copy, 0)
        if right > 0 { (dst + (left &+ copy)).update(repeating: 0, count: right) }
    }
    let bv = V(broadcast: bias)
    @inline(__always) func tap(_ p: UnsafePointer<Float>) -> V {
        g.sW == 1 ? V(load: p) : V(loadEven: p)
    }
    @inline(__always) func put(_ v: V, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        depthwise_put_f32(epilogue.activate(v), out, count)
    }
    let p = UnsafePointer(scratch)
    if g.sW > 2 {
        // Rare: element by element from the padded plane.
        for oh in 0..<g.outH {
            for ow in 0..<g.outW {
                var acc = bias
                for i in 0..<g.kH {
                    let row = p + ((oh &* g.sH &+ i &* g.dH) &* wp &+ ow &* g.sW)
                    for j in 0..<g.kW { acc += w[i &* g.kW &+ j] * row[j &* g.dW] }
                }
                y[oh &* g.outW &+ ow] = epilogue.activate(acc, V.self)
            }
        }
        return
    }
    if g.kH == 3 && g.kW == 3 && g.dH == 1 && g.dW == 1 && g.sW <= 2 {
        // Two instantiations, so the stride test leaves the inner loop.
        if g.sW == 1 {
            depthwise3x3_f32(g, p: p, w: w, bias: bv, y: y, epilogue: epilogue, paddedWidth: wp, stride2: false, vector: V.self)
        } else {
            depthwise3x3_f32(g, p: p, w: w, bias: bv, y: y, epilogue: epilogue, paddedWidth: wp, stride2: true, vector: V.self)
        }
        return
    }
    var oh = 0
    while oh &+ 4 <= g.outH {
        var ow = 0
        while ow < g.outW {
            let count = min(L, g.outW &- ow)
            var a0 = bv, a1 = bv, a2 = bv, a3 = bv
            let base = p + (oh &* g.sH &* wp &+ ow &* g.sW)
            let rs = g.sH &* wp
            for i in 0..<g.kH {
                let rowBase = base + i &* g.dH &* wp, wr = w + i &* g.kW
                for j in 0..<g.kW {
                    let wv = V(broadcast: wr[j])
                    let q = rowBase + j &* g.dW
                    a0 = a0.fma(wv, tap(q))
                    a1 = a1.fma(wv, tap(q + rs))
                    a2 = a2.fma(wv, tap(q + 2 &* rs))
                    a3 = a3.fma(wv, tap(q + 3 &* rs))
                }
            }
            let out = y + (oh &* g.outW &+ ow)
            put(a0, out, count)
            put(a1, out + g.outW, count)
            put(a2, out + 2 &* g.outW, count)
            put(a3, out + 3 &* g.outW, count)
            ow &+= L
        }
        oh &+= 4
    }
    while oh < g.outH {
        var ow = 0
        while ow < g.outW {
            let count = min(L, g.outW &- ow)
            var a0 = bv
            let base = p + (oh &* g.sH &* wp &+ ow &* g.sW)
            for i in 0..<g.kH {
                let rowBase = base + i &* g.dH &* wp, wr = w + i &* g.kW
                for j in 0..<g.kW { a0 = a0.fma(V(broadcast: wr[j]), tap(rowBase + j &* g.dW)) }
            }
            put(a0, y + (oh &* g.outW &+ ow), count)
            ow &+= L
        }
        oh &+= 1
    }
}

/// Stores the first `count` lanes of `v` (all of them when `count == V.lanes`).
@_alwaysEmitIntoClient @inline(__always)
func depthwise_put_f32<V: KernelVector>(_ v: V, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
    if count == V.lanes {
        v.store(out)
    } else {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { t in
            v.store(t.baseAddress!)
            for q in 0..<count { out[q] = t[q] }
        }
    }
}

/// The 3×3, undilated depthwise plane over the padded plane `p` (stride 1 or 2, a constant in each
/// instantiation): the nine weights stay in registers and every tap is written out (a loop over
/// taps with `t / kW` spent more on the division than on the FMAs).
@_alwaysEmitIntoClient @inline(__always)
func depthwise3x3_f32<V: KernelVector>(_ g: ConvWindow, p: UnsafePointer<Float>, w: UnsafePointer<Float>, bias bv: V,
                                       y: UnsafeMutablePointer<Float>, epilogue: Epilogue, paddedWidth wp: Int,
                                       stride2: Bool, vector: V.Type) {
    let L = V.lanes
    @inline(__always) func tap(_ q: UnsafePointer<Float>) -> V { stride2 ? V(loadEven: q) : V(load: q) }
    @inline(__always) func put(_ v: V, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        depthwise_put_f32(epilogue.activate(v), out, count)
    }
    // 3×3, the MobileNet/EfficientNet case: the nine weights stay in registers and every tap is
    // written out (a loop over taps with `t / kW` spent more on the division than on the FMAs).
    let k0 = V(broadcast: w[0]), k1 = V(broadcast: w[1]), k2 = V(broadcast: w[2])
    let k3 = V(broadcast: w[3]), k4 = V(broadcast: w[4]), k5 = V(broadcast: w[5])
    let k6 = V(broadcast: w[6]), k7 = V(broadcast: w[7]), k8 = V(broadcast: w[8])
    let r1 = wp, r2 = 2 &* wp, rs = g.sH &* wp
    var oh = 0
    while oh &+ 4 <= g.outH {
        var ow = 0
        while ow < g.outW {
            let count = min(L, g.outW &- ow)
            var a0 = bv, a1 = bv, a2 = bv, a3 = bv
            let q0 = p + (oh &* g.sH &* wp &+ ow &* g.sW), q1 = q0 + rs, q2 = q1 + rs, q3 = q2 + rs
            a0 = a0.fma(k0, tap(q0)); a1 = a1.fma(k0, tap(q1)); a2 = a2.fma(k0, tap(q2)); a3 = a3.fma(k0, tap(q3))
            a0 = a0.fma(k1, tap(q0 + 1)); a1 = a1.fma(k1, tap(q1 + 1)); a2 = a2.fma(k1, tap(q2 + 1)); a3 = a3.fma(k1, tap(q3 + 1))
            a0 = a0.fma(k2, tap(q0 + 2)); a1 = a1.fma(k2, tap(q1 + 2)); a2 = a2.fma(k2, tap(q2 + 2)); a3 = a3.fma(k2, tap(q3 + 2))
            a0 = a0.fma(k3, tap(q0 + r1)); a1 = a1.fma(k3, tap(q1 + r1)); a2 = a2.fma(k3, tap(q2 + r1)); a3 = a3.fma(k3, tap(q3 + r1))
            a0 = a0.fma(k4, tap(q0 + (r1 &+ 1))); a1 = a1.fma(k4, tap(q1 + (r1 &+ 1))); a2 = a2.fma(k4, tap(q2 + (r1 &+ 1))); a3 = a3.fma(k4, tap(q3 + (r1 &+ 1)))
            a0 = a0.fma(k5, tap(q0 + (r1 &+ 2))); a1 = a1.fma(k5, tap(q1 + (r1 &+ 2))); a2 = a2.fma(k5, tap(q2 + (r1 &+ 2))); a3 = a3.fma(k5, tap(q3 + (r1 &+ 2)))
            a0 = a0.fma(k6, tap(q0 + r2)); a1 = a1.fma(k6, tap(q1 + r2)); a2 = a2.fma(k6, tap(q2 + r2)); a3 = a3.fma(k6, tap(q3 + r2))
            a0 = a0.fma(k7, tap(q0 + (r2 &+ 1))); a1 = a1.fma(k7, tap(q1 + (r2 &+ 1))); a2 = a2.fma(k7, tap(q2 + (r2 &+ 1))); a3 = a3.fma(k7, tap(q3 + (r2 &+ 1)))
            a0 = a0.fma(k8, tap(q0 + (r2 &+ 2))); a1 = a1.fma(k8, tap(q1 + (r2 &+ 2))); a2 = a2.fma(k8, tap(q2 + (r2 &+ 2))); a3 = a3.fma(k8, tap(q3 + (r2 &+ 2)))
            let out = y + (oh &* g.outW &+ ow)
            put(a0, out, count)
            put(a1, out + g.outW, count)
            put(a2, out + 2 &* g.outW, count)
            put(a3, out + 3 &* g.outW, count)
            ow &+= L
        }
        oh &+= 4
    }
    while oh < g.outH {
        var ow = 0
        while ow < g.outW {
            let count = min(L, g.outW &- ow)
            var a0 = bv
            let q0 = p + (oh &* g.sH &* wp &+ ow &* g.sW)
            a0 = a0.fma(k0, tap(q0))
            a0 = a0.fma(k1, tap(q0 + 1))
            a0 = a0.fma(k2, tap(q0 + 2))
            a0 = a0.fma(k3, tap(q0 + r1))
            a0 = a0.fma(k4, tap(q0 + (r1 &+ 1)))
            a0 = a0.fma(k5, tap(q0 + (r1 &+ 2)))
            a0 = a0.fma(k6, tap(q0 + r2))
            a0 = a0.fma(k7, tap(q0 + (r2 &+ 1)))
            a0 = a0.fma(k8, tap(q0 + (r2 &+ 2)))
            put(a0, y + (oh &* g.outW &+ ow), count)
            ow &+= L
        }
        oh &+= 1
    }
}
