/// Depthwise 2-D convolution, NCHW float32: one input channel per group (`C/group == 1`), with a
/// channel multiplier `M/group ≥ 1`. Direct SIMD kernel, no GEMM, in parallel over output planes.
///
/// Output channel `m` reads input channel `m / (M/group)` and weight plane `m` (`[M, 1, kH, kW]`).
/// Each output row is split into a padded border (scalar, bounds-checked) and an interior where
/// every tap is in bounds (8 outputs per step); 3×3 kernels with dilation 1 and stride 1 or 2 take
/// a register-blocked path with the nine weights held in vector registers.
/// - Parameters:
///   - input: `[N, C, H, W]`.
///   - weight: `[M, 1, kH, kW]` (may be a prepacked copy of the same layout).
///   - bias: `[M]` or `nil`.
///   - output: `[N, M, outH, outW]`, fully overwritten.
func depthwiseConv2d_f32(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                         activation: FusedActivation, context: ExecutionContext) {
    let planes = g.batch &* g.outChannels
    let work = planes &* g.outPlane &* g.kernelArea
    let threads = work >= 1 << 16 ? context.threads : 1
    let fast3x3 = g.kernelH == 3 && g.kernelW == 3 && g.dilationH == 1 && g.dilationW == 1 && g.strideW <= 2
    typealias Args = (g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                      output: UnsafeMutablePointer<Float>, activation: FusedActivation, fast3x3: Bool)
    let args: Args = (g, input, weight, bias, output, activation, fast3x3)
    ExecutionContext(threads: threads).parallelFor(planes, with: args) { raw, start, end in
        let (g, input, weight, bias, output, activation, fast3x3) = raw.load(as: Args.self)
        let multiplier = g.outChannelsPerGroup
        for p in start..<end {
            let n = p / g.outChannels, m = p % g.outChannels
            let src = input + (n &* g.inChannels &+ m / multiplier) &* g.inPlane
            let w = weight + m &* g.kernelArea
            let b = bias.map { $0[m] } ?? 0
            let dst = output + p &* g.outPlane
            if fast3x3 {
                depthwiseConv2d_f32_k3_plane(g, src: src, weight: w, bias: b, output: dst, activation: activation)
            } else {
                depthwiseConv2d_f32_plane(g, src: src, weight: w, bias: b, output: dst, activation: activation)
            }
        }
    }
}

/// The output columns `lo..<hi` whose whole window is inside the input horizontally
/// (`lo == hi == outW` when there are none, so the left border covers the row).
@inline(__always)
private func depthwiseInterior(_ g: Conv2DGeometry) -> (lo: Int, hi: Int) {
    let first = convValidRange(count: g.outWidth, limit: g.inWidth, stride: g.strideW, offset: -g.padLeft)
    let last = convValidRange(count: g.outWidth, limit: g.inWidth, stride: g.strideW,
                              offset: (g.kernelW &- 1) &* g.dilationW &- g.padLeft)
    let lo = max(first.lo, last.lo), hi = min(first.hi, last.hi)
    return lo < hi ? (lo, hi) : (g.outWidth, g.outWidth)
}

/// One output value with bounds checks (border columns). Taps `kh` in `khLo..<khHi` are the rows
/// inside the input.
@inline(__always)
private func depthwisePoint(_ g: Conv2DGeometry, src: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: Float,
                            ihBase: Int, khLo: Int, khHi: Int, ow: Int) -> Float {
    var acc = bias
    let iwBase = ow &* g.strideW &- g.padLeft
    for kh in khLo..<khHi {
        let row = src + (ihBase &+ kh &* g.dilationH) &* g.inWidth
        let wk = weight + kh &* g.kernelW
        for kw in 0..<g.kernelW {
            let iw = iwBase &+ kw &* g.dilationW
            if iw >= 0 && iw < g.inWidth { acc += row[iw] * wk[kw] }
        }
    }
    return acc
}

/// Eight values `p[0], p[s], …, p[7s]`.
@inline(__always)
private func gather8(_ p: UnsafePointer<Float>, _ s: Int) -> SIMD8<Float> {
    SIMD8(p[0], p[s], p[2 &* s], p[3 &* s], p[4 &* s], p[5 &* s], p[6 &* s], p[7 &* s])
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// One output row of the general depthwise kernel (any kernel, stride, dilation).
@inline(__always)
private func depthwiseRow(_ g: Conv2DGeometry, src: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: Float,
                          oh: Int, interior: (lo: Int, hi: Int), dst: UnsafeMutablePointer<Float>,
                          activation: FusedActivation) {
    let ihBase = oh &* g.strideH &- g.padTop
    let (khLo, khHi) = convValidRange(count: g.kernelH, limit: g.inHeight, stride: g.dilationH, offset: ihBase)
    for ow in 0..<interior.lo {
        dst[ow] = applyActivation(depthwisePoint(g, src: src, weight: weight, bias: bias, ihBase: ihBase, khLo: khLo, khHi: khHi, ow: ow), activation)
    }
    let sW = g.strideW, dW = g.dilationW, kW = g.kernelW, inW = g.inWidth
    var ow = interior.lo
    while ow &+ 8 <= interior.hi {
        var acc = SIMD8<Float>(repeating: bias)
        for kh in khLo..<khHi {
            // In bounds: ow ≥ interior.lo puts the first tap at column ≥ 0.
            let row = src + ((ihBase &+ kh &* g.dilationH) &* inW &+ ow &* sW &- g.padLeft)
            let wk = weight + kh &* kW
            for kw in 0..<kW {
                let p = row + kw &* dW
                let v = sW == 1 ? load8(p) : gather8(p, sW)
                acc = mulAdd8(acc, v, SIMD8(repeating: wk[kw]))
            }
        }
        store8(applyActivation(acc, activation), dst + ow)
        ow &+= 8
    }
    while ow < interior.hi {
        var acc = bias
        for kh in khLo..<khHi {
            let row = src + ((ihBase &+ kh &* g.dilationH) &* inW &+ ow &* sW &- g.padLeft)
            let wk = weight + kh &* kW
            for kw in 0..<kW { acc += row[kw &* dW] * wk[kw] }
        }
        dst[ow] = applyActivation(acc, activation)
        ow &+= 1
    }
    for ow in interior.hi..<g.outWidth {
        dst[ow] = applyActivation(depthwisePoint(g, src: src, weight: weight, bias: bias, ihBase: ihBase, khLo: khLo, khHi: khHi, ow: ow), activation)
    }
}

/// One output plane, any kernel.
private func depthwiseConv2d_f32_plane(_ g: Conv2DGeometry, src: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                       bias: Float, output: UnsafeMutablePointer<Float>, activation: FusedActivation) {
    let interior = depthwiseInterior(g)
    for oh in 0..<g.outHeight {
        depthwiseRow(g, src: src, weight: weight, bias: bias, oh: oh, interior: interior,
                     dst: output + oh &* g.outWidth, activation: activation)
    }
}

/// One output plane of a 3×3, dilation-1 kernel with horizontal stride 1 or 2 (any vertical
/// stride). Rows whose three input rows are all inside the input use a register-blocked interior;
/// the others go through the general row.
private func depthwiseConv2d_f32_k3_plane(_ g: Conv2DGeometry, src: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                          bias: Float, output: UnsafeMutablePointer<Float>, activation: FusedActivation) {
    let interior = depthwiseInterior(g)
    let inW = g.inWidth, sW = g.strideW
    let w0 = SIMD8<Float>(repeating: weight[0]), w1 = SIMD8<Float>(repeating: weight[1]), w2 = SIMD8<Float>(repeating: weight[2])
    let w3 = SIMD8<Float>(repeating: weight[3]), w4 = SIMD8<Float>(repeating: weight[4]), w5 = SIMD8<Float>(repeating: weight[5])
    let w6 = SIMD8<Float>(repeating: weight[6]), w7 = SIMD8<Float>(repeating: weight[7]), w8 = SIMD8<Float>(repeating: weight[8])
    let vb = SIMD8<Float>(repeating: bias)
    for oh in 0..<g.outHeight {
        let ihBase = oh &* g.strideH &- g.padTop
        let dst = output + oh &* g.outWidth
        if ihBase < 0 || ihBase &+ 2 >= g.inHeight {
            depthwiseRow(g, src: src, weight: weight, bias: bias, oh: oh, interior: interior, dst: dst, activation: activation)
            continue
        }
        for ow in 0..<interior.lo {
            dst[ow] = applyActivation(depthwisePoint(g, src: src, weight: weight, bias: bias, ihBase: ihBase, khLo: 0, khHi: 3, ow: ow), activation)
        }
        let r0 = src + ihBase &* inW
        let r1 = r0 + inW, r2 = r1 + inW
        var ow = interior.lo
        if sW == 1 {
            while ow &+ 8 <= interior.hi {
                let b = ow &- g.padLeft
                var acc = vb
                acc = mulAdd8(acc, load8(r0 + b), w0)
                acc = mulAdd8(acc, load8(r0 + (b &+ 1)), w1)
                acc = mulAdd8(acc, load8(r0 + (b &+ 2)), w2)
                acc = mulAdd8(acc, load8(r1 + b), w3)
                acc = mulAdd8(acc, load8(r1 + (b &+ 1)), w4)
                acc = mulAdd8(acc, load8(r1 + (b &+ 2)), w5)
                acc = mulAdd8(acc, load8(r2 + b), w6)
                acc = mulAdd8(acc, load8(r2 + (b &+ 1)), w7)
                acc = mulAdd8(acc, load8(r2 + (b &+ 2)), w8)
                store8(applyActivation(acc, activation), dst + ow)
                ow &+= 8
            }
        } else {
            // Stride 2: two 16-wide loads per row give the even (taps 0, 2) and odd (tap 1)
            // lanes. They read up to column b + 17, so stop while that is still inside the row.
            while ow &+ 8 <= interior.hi && 2 &* ow &- g.padLeft &+ 17 < inW {
                let b = 2 &* ow &- g.padLeft
                var acc = vb
                let a0 = UnsafeRawPointer(r0 + b).loadUnaligned(as: SIMD16<Float>.self)
                let c0 = UnsafeRawPointer(r0 + (b &+ 2)).loadUnaligned(as: SIMD16<Float>.self)
                acc = mulAdd8(acc, a0.evenLanes, w0)
                acc = mulAdd8(acc, a0.oddLanes, w1)
                acc = mulAdd8(acc, c0.evenLanes, w2)
                let a1 = UnsafeRawPointer(r1 + b).loadUnaligned(as: SIMD16<Float>.self)
                let c1 = UnsafeRawPointer(r1 + (b &+ 2)).loadUnaligned(as: SIMD16<Float>.self)
                acc = mulAdd8(acc, a1.evenLanes, w3)
                acc = mulAdd8(acc, a1.oddLanes, w4)
                acc = mulAdd8(acc, c1.evenLanes, w5)
                let a2 = UnsafeRawPointer(r2 + b).loadUnaligned(as: SIMD16<Float>.self)
                let c2 = UnsafeRawPointer(r2 + (b &+ 2)).loadUnaligned(as: SIMD16<Float>.self)
                acc = mulAdd8(acc, a2.evenLanes, w6)
                acc = mulAdd8(acc, a2.oddLanes, w7)
                acc = mulAdd8(acc, c2.evenLanes, w8)
                store8(applyActivation(acc, activation), dst + ow)
                ow &+= 8
            }
        }
        while ow < interior.hi {
            let b = ow &* sW &- g.padLeft
            var acc = bias
            acc += r0[b] * weight[0] + r0[b &+ 1] * weight[1] + r0[b &+ 2] * weight[2]
            acc += r1[b] * weight[3] + r1[b &+ 1] * weight[4] + r1[b &+ 2] * weight[5]
            acc += r2[b] * weight[6] + r2[b &+ 1] * weight[7] + r2[b &+ 2] * weight[8]
            dst[ow] = applyActivation(acc, activation)
            ow &+= 1
        }
        for ow in interior.hi..<g.outWidth {
            dst[ow] = applyActivation(depthwisePoint(g, src: src, weight: weight, bias: bias, ihBase: ihBase, khLo: 0, khHi: 3, ow: ow), activation)
        }
    }
}

/// `acc + a·b` on eight lanes as a separate multiply and add. Unlike `SIMD.addingProduct` (a fused
/// multiply-add), this compiles to vector instructions for every CPU target: without
/// `-target-cpu`, `addingProduct` becomes eight calls to libm's `fmaf` and made depthwise
/// convolutions 3× slower. Rounding differs from a fused multiply-add by at most one ulp per step.
@inline(__always)
func mulAdd8(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    acc + a * b
}
