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
