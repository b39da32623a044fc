// Matrix–vector products for linear layers at small batch: `y = act(W·x + bias)`.
//
// At batch 1 a linear layer reads every weight once and does one multiply-add with it, so it is
// bound by memory bandwidth, not arithmetic. A GEMM library still packs the whole weight matrix per
// call (OpenBLAS's `sgemm_incopy` took 1.3 ms of MobileNetV2's classifier on Zen 3); these kernels
// stream the weights exactly once, in their stored layout, and apply the epilogue on the way out.

/// `y[j] = act(Σₖ x[k] · w[j·ldw + k] + bias[j])` for `j` in `rows`: `w` holds one output per row
/// (`[N × K]`, a PyTorch `Linear` weight, ONNX `Gemm` with `transB = 1`).
///
/// Four rows at a time, two vectors per row in flight, so eight independent accumulators hide the
/// FMA latency while the weights stream.
@_alwaysEmitIntoClient @inline(__always)
public func gemv_rows_f32<V: KernelVector>(_ x: UnsafePointer<Float>, k: Int, w: UnsafePointer<Float>, ldw: Int,
                                           rows: Range<Int>, y: UnsafeMutablePointer<Float>, epilogue: Epilogue,
                                           vector: V.Type) {
    let L = V.lanes, L2 = 2 &* V.lanes
    @inline(__always) func finish(_ j: Int, _ acc: Float) {
        var v = acc
        if let bias = epilogue.bias { v += bias[j] }
        y[j] = epilogue.activate(v, V.self)
    }
    var j = rows.lowerBound
    while j &+ 4 <= rows.upperBound {
        let w0 = w + j &* ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
        var a0 = V(broadcast: 0), a1 = V(broadcast: 0), a2 = V(broadcast: 0), a3 = V(broadcast: 0)
        var b0 = V(broadcast: 0), b1 = V(broadcast: 0), b2 = V(broadcast: 0), b3 = V(broadcast: 0)
        var kk = 0
        while kk &+ L2 <= k {
            let x0 = V(load: x + kk), x1 = V(load: x + (kk &+ L))
            a0 = a0.fma(V(load: w0 + kk), x0); b0 = b0.fma(V(load: w0 + (kk &+ L)), x1)
            a1 = a1.fma(V(load: w1 + kk), x0); b1 = b1.fma(V(load: w1 + (kk &+ L)), x1)
            a2 = a2.fma(V(load: w2 + kk), x0); b2 = b2.fma(V(load: w2 + (kk &+ L)), x1)
            a3 = a3.fma(V(load: w3 + kk), x0); b3 = b3.fma(V(load: w3 + (kk &+ L)), x1)
            kk &+= L2
        }
        var s0 = (a0 + b0).sum(), s1 = (a1 + b1).sum(), s2 = (a2 + b2).sum(), s3 = (a3 + b3).sum()
        while kk < k {
            let xv = x[kk]
            s0 += w0[kk] * xv; s1 += w1[kk] * xv; s2 += w2[kk] * xv; s3 += w3[kk] * xv
            kk &+= 1
        }
        finish(j, s0); finish(j &+ 1, s1); finish(j &+ 2, s2); finish(j &+ 3, s3)
        j &+= 4
    }
    while j < rows.upperBound {
        let w0 = w + j &* ldw
        var a0 = V(broadcast: 0), b0 = V(broadcast: 0)
        var kk = 0
        while kk &+ L2 <= k {
            a0 = a0.fma(V(load: w0 + kk), V(load: x + kk)); b0 = b0.fma(V(load: w0 + (kk &+ L)), V(load: x + (kk &+ L)))
            kk &+= L2
        }
        var s0 = (a0 + b0).sum()
        while kk < k { s0 += w0[kk] * x[kk]; kk &+= 1 }
        finish(j, s0)
        j &+= 1
    }
}

/// `y[j] = act(Σₖ x[k] · w[k·ldw + j] + bias[j])` for `j` in `columns`: `w` holds one output per
/// column (`[K × N]`, ONNX `Gemm` with `transB = 0`, `MatMul`).
///
/// Four vectors of outputs at a time: each weight row is a contiguous run, read once.
@_alwaysEmitIntoClient @inline(__always)
public func gemv_columns_f32<V: KernelVector>(_ x: UnsafePointer<Float>, k: Int, w: UnsafePointer<Float>, ldw: Int,
                                              columns: Range<Int>, y: UnsafeMutablePointer<Float>, epilogue: Epilogue,
                                              vector: V.Type) {
    let L = V.lanes
    @inline(__always) func finish(_ j: Int, _ acc: V) {
        var v = acc
        if let bias = epilogue.bias { v = v + V(load: bias + j) }
        epilogue.activate(v).store(y + j)
    }
    var j = columns.lowerBound
    while j &+ 4 &* L <= columns.upperBound {
        var a0 = V(broadcast: 0), a1 = V(broadcast: 0), a2 = V(broadcast: 0), a3 = V(broadcast: 0)
        var row = w + j
        for kk in 0..<k {
            let xv = V(broadcast: x[kk])
            a0 = a0.fma(xv, V(load: row)); a1 = a1.fma(xv, V(load: row + L))
            a2 = a2.fma(xv, V(load: row + 2 &* L)); a3 = a3.fma(xv, V(load: row + 3 &* L))
            row += ldw
        }
        finish(j, a0); finish(j &+ L, a1); finish(j &+ 2 &* L, a2); finish(j &+ 3 &* L, a3)
        j &+= 4 &* L
    }
    while j &+ L <= columns.upperBound {
        var a0 = V(broadcast: 0)
        var row = w + j
        for kk in 0..<k { a0 = a0.fma(V(broadcast: x[kk]), V(load: row)); row += ldw }
        finish(j, a0)
        j &+= L
    }
    while j < columns.upperBound {
        var s: Float = 0
        for kk in 0..<k { s += x[kk] * w[kk &* ldw &+ j] }
        if let bias = epilogue.bias { s += bias[j] }
        y[j] = epilogue.activate(s, V.self)
        j &+= 1
    }
}
