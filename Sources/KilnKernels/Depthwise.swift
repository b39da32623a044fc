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
    let taps = g.kH &* g.kW
    @inline(__always) func tap(_ p: UnsafePointer<Float>) -> V {
        g.sW == 1 ? V(load: p) : V(loadEven: p)
    }
    @inline(__always) func put(_ v: V, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        let a = epilogue.activate(v)
        if count == L {
            a.store(out)
        } else {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { t in
                a.store(t.baseAddress!)
                for q in 0..<count { out[q] = t[q] }
            }
        }
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
                y[oh &* g.outW &+ ow] = epilogue.activate(acc)
            }
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
            for t in 0..<taps {
                let i = t / g.kW, j = t &- i &* g.kW
                let wv = V(broadcast: w[t])
                let q = base + (i &* g.dH &* wp &+ j &* g.dW)
                a0 = a0.fma(wv, tap(q))
                a1 = a1.fma(wv, tap(q + rs))
                a2 = a2.fma(wv, tap(q + 2 &* rs))
                a3 = a3.fma(wv, tap(q + 3 &* rs))
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
            for t in 0..<taps {
                let i = t / g.kW, j = t &- i &* g.kW
                a0 = a0.fma(V(broadcast: w[t]), tap(base + (i &* g.dH &* wp &+ j &* g.dW)))
            }
            put(a0, y + (oh &* g.outW &+ ow), count)
            ow &+= L
        }
        oh &+= 1
    }
}
