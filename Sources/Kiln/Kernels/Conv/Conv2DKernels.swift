/// 2-D convolution, NCHW float32, dispatching on ``Conv2DGeometry/algorithm``.
///
/// The caller has validated every shape against `g` and sized `scratch` to at least
/// ``Conv2DGeometry/scratchCount`` floats (it may be `nil` when that is 0). The weight pointer is a
/// parameter, not a tensor, so a planned convolution can pass weights it prepacked at load time.
/// - Parameters:
///   - input: `[N, C, H, W]`.
///   - weight: `[M, C/group, kH, kW]`.
///   - bias: `[M]` or `nil`.
///   - output: `[N, M, outH, outW]`, fully overwritten.
///   - scratch: im2col buffer, reused for every (batch, group).
///   - activation: Applied after the bias.
func conv2d_f32_nchw(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                     bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                     scratch: UnsafeMutablePointer<Float>?, activation: FusedActivation, context: ExecutionContext) {
    if g.batch == 0 || g.outChannels == 0 || g.outPlane == 0 { return }
    switch g.algorithm {
    case .depthwise:
        depthwiseConv2d_f32(g, input: input, weight: weight, bias: bias, output: output, activation: activation, context: context)
    case .pointwiseGEMM:
        conv2d_f32_nchw_1x1(g, input: input, weight: weight, bias: bias, output: output, activation: activation, context: context)
    case .im2colGEMM:
        withConvScratch(scratch, count: g.scratchCount) { col in
            conv2d_f32_nchw_im2col(g, input: input, weight: weight, bias: bias, output: output,
                                   scratch: col, activation: activation, context: context)
        }
    }
}

/// Calls `body` with `scratch`, or with a temporary buffer of `count` floats (64-byte aligned)
/// when the caller passed none.
@inline(__always)
func withConvScratch(_ scratch: UnsafeMutablePointer<Float>?, count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
    if let scratch {
        body(scratch)
        return
    }
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) &* MemoryLayout<Float>.stride, alignment: 64)
    defer { raw.deallocate() }
    body(raw.bindMemory(to: Float.self, capacity: max(count, 1)))
}

/// 1×1, stride 1, no padding: per (batch, group) `Y[M/g × HW] = W[M/g × C/g] · X[C/g × HW]`, the
/// input used in place as the GEMM's right operand, then bias and activation.
func conv2d_f32_nchw_1x1(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                         activation: FusedActivation, context: ExecutionContext) {
    let cg = g.inChannelsPerGroup, mg = g.outChannelsPerGroup, hw = g.outPlane
    for n in 0..<g.batch {
        for grp in 0..<g.group {
            let y = output + (n &* g.outChannels &+ grp &* mg) &* hw
            Sgemm.run(transA: false, transB: false, m: mg, n: hw, k: cg,
                      alpha: 1, a: weight + grp &* mg &* cg, lda: cg,
                      b: input + (n &* g.inChannels &+ grp &* cg) &* hw, ldb: hw,
                      beta: 0, c: y, ldc: hw, context: context)
            conv_epilogue_f32(y, channels: mg, plane: hw, bias: bias, biasOffset: grp &* mg,
                              activation: activation, context: context)
        }
    }
}

/// General convolution: per (batch, group) im2col into `scratch` (`[C/g·kH·kW, outH·outW]`),
/// then `Y[M/g × outHW] = W[M/g × C/g·kH·kW] · col`, then bias and activation.
/// - Parameter scratch: At least ``Conv2DGeometry/scratchCount`` floats.
func conv2d_f32_nchw_im2col(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                            bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                            scratch: UnsafeMutablePointer<Float>, activation: FusedActivation,
                            context: ExecutionContext) {
    let cg = g.inChannelsPerGroup, mg = g.outChannelsPerGroup, k = g.gemmK, hw = g.outPlane
    let rows = k
    // im2col is memory-bound; split it only when there is enough of it to pay for a thread.
    let threads = rows &* hw >= 1 << 15 ? context.threads : 1
    let pool = ExecutionContext(threads: threads)
    for n in 0..<g.batch {
        for grp in 0..<g.group {
            let x = input + (n &* g.inChannels &+ grp &* cg) &* g.inPlane
            pool.parallelFor(rows, with: (g, x, scratch)) { raw, start, end in
                let (g, x, scratch) = raw.load(as: (Conv2DGeometry, UnsafePointer<Float>, UnsafeMutablePointer<Float>).self)
                im2col_f32(g, input: x, col: scratch, rows: start..<end)
            }
            let y = output + (n &* g.outChannels &+ grp &* mg) &* hw
            Sgemm.run(transA: false, transB: false, m: mg, n: hw, k: k,
                      alpha: 1, a: weight + grp &* mg &* k, lda: max(k, 1),
                      b: scratch, ldb: hw, beta: 0, c: y, ldc: hw, context: context)
            conv_epilogue_f32(y, channels: mg, plane: hw, bias: bias, biasOffset: grp &* mg,
                              activation: activation, context: context)
        }
    }
}

/// 2-D transposed convolution, NCHW float32: per (batch, group) `col = Wᵀ · X` (GEMM, or straight
/// into the output for the pointwise case), then col2im accumulation into the output, which
/// starts as the bias (or zero).
///
/// The caller has validated the shapes and sized `scratch` to ``ConvTranspose2DGeometry/scratchCount``.
/// - Parameters:
///   - input: `[N, C, H, W]`.
///   - weight: `[C, M/group, kH, kW]`.
///   - bias: `[M]` or `nil`.
///   - output: `[N, M, outH, outW]`, fully overwritten.
func convTranspose2d_f32_nchw_col2im(_ g: ConvTranspose2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                     bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                                     scratch: UnsafeMutablePointer<Float>?, context: ExecutionContext) {
    if g.batch == 0 || g.outChannels == 0 || g.outPlane == 0 { return }
    let cg = g.inChannelsPerGroup, mg = g.outChannelsPerGroup, rows = g.columnRows
    let outPlane = g.outPlane
    // Output starts as the bias so the GEMM (pointwise) or col2im can accumulate into it.
    let planes = g.batch &* g.outChannels
    let fillThreads = planes &* outPlane >= 1 << 16 ? context.threads : 1
    ExecutionContext(threads: fillThreads).parallelFor(planes, with: (bias, output, g.outChannels, outPlane)) { raw, start, end in
        let (bias, output, channels, outPlane) = raw.load(as: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>, Int, Int).self)
        for p in start..<end {
            let b = bias.map { $0[p % channels] } ?? 0
            (output + p &* outPlane).update(repeating: b, count: outPlane)
        }
    }
    let scatterThreads = rows &* g.inPlane >= 1 << 15 ? context.threads : 1
    for n in 0..<g.batch {
        for grp in 0..<g.group {
            let x = input + (n &* g.inChannels &+ grp &* cg) &* g.inPlane
            let w = weight + grp &* cg &* rows
            let y = output + (n &* g.outChannels &+ grp &* mg) &* outPlane
            if g.isPointwise {
                Sgemm.run(transA: true, transB: false, m: mg, n: g.inPlane, k: cg,
                          alpha: 1, a: w, lda: max(mg, 1), b: x, ldb: g.inPlane,
                          beta: 1, c: y, ldc: outPlane, context: context)
                continue
            }
            withConvScratch(scratch, count: g.scratchCount) { col in
                Sgemm.run(transA: true, transB: false, m: rows, n: g.inPlane, k: cg,
                          alpha: 1, a: w, lda: max(rows, 1), b: x, ldb: g.inPlane,
                          beta: 0, c: col, ldc: g.inPlane, context: context)
                ExecutionContext(threads: scatterThreads).parallelFor(mg, with: (g, col, y)) { raw, start, end in
                    let (g, col, y) = raw.load(as: (ConvTranspose2DGeometry, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>).self)
                    col2im_f32(g, col: col, output: y, channels: start..<end)
                }
            }
        }
    }
}
