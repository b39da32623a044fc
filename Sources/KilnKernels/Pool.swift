// Max pooling of one plane, separable: per output row, the window's rows are first reduced into a
// row buffer (vectors across the input width), then each output column reduces its window columns
// from that buffer (vectors of output columns for strides 1 and 2 in the interior, where every tap
// is inside the row; scalar with bounds checks at the borders and for other strides).

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
        let start = oh &* w.sH &- w.padT
        var first = true
        for kh in 0..<w.kH {
            let ih = start &+ kh &* w.dH
            if ih < 0 || ih >= w.inH { continue }
            let row = x + ih &* w.inW
            if first {
                tmp.update(from: row, count: w.inW)
                first = false
                continue
            }
            var c = 0
            while c &+ L <= w.inW {
                V(load: tmp + c).clampedBelow(V(load: row + c)).store(tmp + c)
                c &+= L
            }
            while c < w.inW {
                // A select, not a conditional store: on data in random order the branch mispredicted
                // every other element and the seven-element tail cost more than the vector body.
                let b = row[c], a = tmp[c]
                tmp[c] = b > a ? b : a
                c &+= 1
            }
        }
        if first { tmp.update(repeating: lowest, count: w.inW) }
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
        if w.sW == 1 || w.sW == 2 {
            while ow &+ L <= owHi {
                let base = UnsafePointer(tmp) + (ow &* w.sW &- w.padL)
                var acc = V(broadcast: lowest)
                for kw in 0..<w.kW {
                    let p = base + kw &* w.dW
                    acc = acc.clampedBelow(w.sW == 1 ? V(load: p) : V(loadEven: p))
                }
                acc.store(out + ow)
                ow &+= L
            }
        }
        while ow < w.outW { scalar(ow); ow &+= 1 }
    }
}
