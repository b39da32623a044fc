// Max pooling of one plane, separable: per output row, the window's rows are first reduced into a
// row buffer in one pass (vectors across the input width), then each output column reduces its
// window columns from that buffer (vectors of output columns for strides 1 and 2 in the interior,
// where every tap is inside the row; scalar with bounds checks at the borders and for other
// strides). A run that is not a whole number of vectors ends with one vector overlapping the one
// before, which computes the same maxima again, instead of a scalar tail: on SqueezeNet's 111- and
// 55-wide planes the scalar tails and the row buffer's extra passes cost more than the vectors.

/// Floats of the row buffer ``pool_maxPlane_f32(_:_:y:rowBuffer:vector:)`` needs: the input width and
/// room for a stride-2 load of `2·lanes` floats from its last column.
@_alwaysEmitIntoClient
public func poolRowBufferCount(inW: Int, lanes: Int) -> Int { inW &+ 2 &* lanes }

/// `y[oh][ow] = max` over the window's taps inside the input (padding ignored), for one `[inH × inW]`
/// plane; a window with no tap inside yields `-Float.greatestFiniteMagnitude` (as ONNX Runtime).
/// NaN: a NaN already in the running maximum stays; a NaN tap met later is skipped (`b > a ? b : a`).
/// - Parameters:
///   - w: The window (`kH, kW, sH, sW, dH, dW, padT, padL` and both sizes).
///   - rowBuffer: ``poolRowBufferCount(inW:lanes:)`` floats.
@_alwaysEmitIntoClient @inline(__always)
public func pool_maxPlane_f32<V: KernelVector>(_ x: UnsafePointer<Float>, _ w: ConvWindow, y: UnsafeMutablePointer<Float>,
                                               rowBuffer tmp: UnsafeMutablePointer<Float>, vector: V.Type) {
    let L = V.lanes
    let lowest = -Float.greatestFiniteMagnitude
    // Interior output columns: every tap inside [0, inW).
    let span = (w.kW &- 1) &* w.dW
    var owHi = w.inW &- 1 &- span &+ w.padL >= 0 ? (w.inW &- 1 &- span &+ w.padL) / w.sW &+ 1 : 0
    owHi = min(owHi, w.outW)
    let owLo = min((w.padL &+ w.sW &- 1) / w.sW, owHi)
    // The buffer's tail (read by the last stride-2 loads) holds finite values.
    (tmp + w.inW).update(repeating: lowest, count: 2 &* L)
    for oh in 0..<w.outH {
        // The window's rows inside the input, reduced in one pass (vectors across the width; the
        // last vector overlaps the one before it, which recomputes the same maxima from the rows).
        let start = oh &* w.sH &- w.padT
        var khLo = 0, khHi = w.kH
        while khLo < khHi && start &+ khLo &* w.dH < 0 { khLo &+= 1 }
        while khHi > khLo && start &+ (khHi &- 1) &* w.dH >= w.inH { khHi &-= 1 }
        if khLo == khHi {
            tmp.update(repeating: lowest, count: w.inW)
        } else {
            let first = x + (start &+ khLo &* w.dH) &* w.inW
            let rowStep = w.dH &* w.inW
            let rows = khHi &- khLo
            @inline(__always) func reduce(_ c: Int) {
                var m = V(load: first + c)
                var q = first + c
                for _ in 1..<rows {
                    q += rowStep
                    m = m.clampedBelow(V(load: q))
                }
                m.store(tmp + c)
            }
            if w.inW >= L {
                var c = 0
                while c &+ L <= w.inW { reduce(c); c &+= L }
                if c < w.inW { reduce(w.inW &- L) }
            } else {
                for c in 0..<w.inW {
                    var a = first[c]
                    var q = first + c
                    for _ in 1..<rows {
                        q += rowStep
                        // A select, not a branch (data in random order mispredicts every other element).
                        let b = q[0]
                        a = b > a ? b : a
                    }
                    tmp[c] = a
                }
            }
        }
        let out = y + oh &* w.outW
        @inline(__always) func scalar(_ ow: Int) {
            let s = ow &* w.sW &- w.padL
            var acc = lowest
            for kw in 0..<w.kW {
                let iw = s &+ kw &* w.dW
                if iw < 0 || iw >= w.inW { continue }
                let v = tmp[iw]
                acc = v > acc ? v : acc
            }
            out[ow] = acc
        }
        var ow = 0
        while ow < owLo { scalar(ow); ow &+= 1 }
        if (w.sW == 1 || w.sW == 2) && owHi &- ow >= L {
            @inline(__always) func columns(_ ow: Int) {
                let base = UnsafePointer(tmp) + (ow &* w.sW &- w.padL)
                var acc = V(broadcast: lowest)
                for kw in 0..<w.kW {
                    let p = base + kw &* w.dW
                    acc = acc.clampedBelow(w.sW == 1 ? V(load: p) : V(loadEven: p))
                }
                acc.store(out + ow)
            }
            while ow &+ L <= owHi { columns(ow); ow &+= L }
            // The last interior vector overlaps the one before (the same maxima again).
            if ow < owHi { columns(owHi &- L); ow = owHi }
        }
        while ow < w.outW { scalar(ow); ow &+= 1 }
    }
}

/// Global pooling of planes `planes` of `size` contiguous floats each: `y[p] = max` or `mean` of
/// plane `p`. Four vectors of accumulators: one accumulator is a chain of dependent adds, 3 cycles
/// each on Zen 4, where the loads allow one vector per half cycle (EfficientNet-B0's
/// squeeze-and-excitation blocks pool 2.4 M floats per inference). The sum's order differs from a
/// sequential one only in rounding. NaN: a mean with a NaN is NaN; max compares `b > a ? b : a` per
/// lane and then across lanes, so a NaN propagates only when it comes first in its lane.
@_alwaysEmitIntoClient @inline(__always)
public func pool_globalPlanes_f32<V: KernelVector>(_ x: UnsafePointer<Float>, size: Int, planes: Range<Int>, isMax: Bool,
                                                   y: UnsafeMutablePointer<Float>, vector: V.Type) {
    let L = V.lanes
    for p in planes {
        let src = x + p &* size
        var i = 0
        if isMax {
            // `a.clampedBelow(b)` keeps `a` unless `b > a`: a NaN accumulator stays, a NaN tap is skipped.
            let lowest = V(broadcast: -.infinity)
            var a0 = lowest, a1 = lowest, a2 = lowest, a3 = lowest
            while i &+ 4 &* L <= size {
                a0 = a0.clampedBelow(V(load: src + i)); a1 = a1.clampedBelow(V(load: src + (i &+ L)))
                a2 = a2.clampedBelow(V(load: src + (i &+ 2 &* L))); a3 = a3.clampedBelow(V(load: src + (i &+ 3 &* L)))
                i &+= 4 &* L
            }
            while i &+ L <= size { a0 = a0.clampedBelow(V(load: src + i)); i &+= L }
            a0 = a0.clampedBelow(a1).clampedBelow(a2).clampedBelow(a3)
            var m = withUnsafeTemporaryAllocation(of: Float.self, capacity: L) { t -> Float in
                a0.store(t.baseAddress!)
                var r = t[0]
                for l in 1..<L where t[l] > r { r = t[l] }
                return r
            }
            while i < size { if src[i] > m { m = src[i] }; i &+= 1 }
            y[p] = m
        } else {
            let zero = V(broadcast: 0)
            var a0 = zero, a1 = zero, a2 = zero, a3 = zero
            while i &+ 4 &* L <= size {
                a0 = a0 + V(load: src + i); a1 = a1 + V(load: src + (i &+ L))
                a2 = a2 + V(load: src + (i &+ 2 &* L)); a3 = a3 + V(load: src + (i &+ 3 &* L))
                i &+= 4 &* L
            }
            while i &+ L <= size { a0 = a0 + V(load: src + i); i &+= L }
            var s = ((a0 + a1) + (a2 + a3)).sum()
            while i < size { s += src[i]; i &+= 1 }
            y[p] = s / Float(size)
        }
    }
}
