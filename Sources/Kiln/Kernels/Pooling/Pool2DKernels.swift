import KilnKernels

/// The window geometry of a 2-D pool over one `[H, W]` plane (a 1-D pool is the case `H = 1`).
/// Built from validated ``SpatialAttributes`` axes; every field is non-negative and the output
/// sizes are at least 1.
struct Pool2DGeometry: Sendable, Equatable {
    var inH: Int, inW: Int
    var kH: Int, kW: Int
    var strideH: Int, strideW: Int
    var dilationH: Int, dilationW: Int
    var padTop: Int, padLeft: Int
    var padBottom: Int, padRight: Int
    var outH: Int, outW: Int

    /// From resolved axes: two for 2-D, one for 1-D (then `H = 1`).
    init(_ axes: [SpatialAttributes.Axis]) {
        let h = axes.count == 2 ? axes[0] : SpatialAttributes.Axis(input: 1, kernel: 1, stride: 1, dilation: 1,
                                                                     padBegin: 0, padEnd: 0, output: 1)
        let w = axes[axes.count - 1]
        inH = h.input; inW = w.input
        kH = h.kernel; kW = w.kernel
        strideH = h.stride; strideW = w.stride
        dilationH = h.dilation; dilationW = w.dilation
        padTop = h.padBegin; padLeft = w.padBegin
        padBottom = h.padEnd; padRight = w.padEnd
        outH = h.output; outW = w.output
    }
}

/// The reduction of a pool.
enum PoolKind: Sendable, Equatable {
    /// Maximum over the window's input elements (padding is ignored).
    case max
    /// Mean; with `countIncludePad` the divisor counts the window's taps that fall in the padded
    /// input (not those past the end padding, which `ceil_mode` can create), otherwise only the
    /// taps inside the input.
    case average(countIncludePad: Bool)
}

/// Per output position along one axis: how many window taps land inside the input, and how many
/// inside the padded input (for the average divisor).
@inline(__always)
func poolTapCounts(output: Int, input: Int, kernel: Int, stride: Int, dilation: Int,
                   padBegin: Int, padEnd: Int, countIncludePad: Bool) -> [Float] {
    var counts = [Float](repeating: 0, count: output)
    for o in 0..<output {
        let start = o &* stride &- padBegin
        var n = 0
        for k in 0..<kernel {
            let p = start &+ k &* dilation
            if countIncludePad ? (p >= -padBegin && p < input &+ padEnd) : (p >= 0 && p < input) { n &+= 1 }
        }
        // A window with no tap inside the input (possible with dilation) averages to 0, as in
        // ONNX Runtime, rather than 0 / 0.
        counts[o] = Float(max(n, 1))
    }
    return counts
}

/// Max or average pool of `planes` contiguous `[inH, inW]` planes of `x` into `[outH, outW]` planes
/// of `y` (NCHW with `planes = N·C`). Max pooling runs the kernel variant's
/// `pool_maxPlane_f32` (`KilnKernels`, AVX2/AVX-512 vectors where the CPU has them); average pooling
/// the portable loops below.
///
/// Average pooling is separable: for each output row, the valid kernel rows are first summed into a
/// row buffer (SIMD over the input width), then each output column sums its kernel columns. The
/// column pass runs 8 outputs at a time in the interior for stride 1 and stride 2 (even lanes of a
/// 16-wide load); borders and other strides take the scalar loop with bounds checks.
///
/// A window with no tap inside the input yields `-Float.greatestFiniteMagnitude` for max (as ONNX
/// Runtime) and 0 for average.
func pool2d_f32_nchw(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int,
                     _ g: Pool2DGeometry, kind: PoolKind, context: ExecutionContext) {
    guard case let .average(include) = kind else {
        // The process's kernel variant (`KernelDispatch`): the same separable scheme with its vectors.
        let table = KernelDispatch.table()
        let window = ConvWindow(inH: g.inH, inW: g.inW, outH: g.outH, outW: g.outW, kH: g.kH, kW: g.kW,
                                sH: g.strideH, sW: g.strideW, dH: g.dilationH, dW: g.dilationW,
                                padT: g.padTop, padL: g.padLeft)
        let count = poolRowBufferCount(inW: g.inW, lanes: table.lanes)
        let work = planes &* g.outH &* g.outW &* g.kH &* g.kW
        let args = (table, window, x, y, count)
        ExecutionContext(threads: work >= 1 << 15 ? context.threads : 1).parallelFor(planes, with: args) { raw, p0, p1 in
            let (table, w, x, y, count) =
                raw.load(as: (KernelTable, ConvWindow, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int).self)
            let tmp = ThreadWorkspace.floats(count)
            for plane in p0..<p1 {
                table.maxPoolPlane(x + plane &* (w.inH &* w.inW), w, y + plane &* (w.outH &* w.outW), tmp)
            }
        }
        return
    }
    // Average: sums over the separable passes, then each output divided by its tap count.
    let rowCounts = poolTapCounts(output: g.outH, input: g.inH, kernel: g.kH, stride: g.strideH, dilation: g.dilationH,
                                  padBegin: g.padTop, padEnd: g.padBottom, countIncludePad: include)
    let colInverse = poolTapCounts(output: g.outW, input: g.inW, kernel: g.kW, stride: g.strideW, dilation: g.dilationW,
                                   padBegin: g.padLeft, padEnd: g.padRight, countIncludePad: include)
    // Interior columns: every tap inside [0, inW).
    let span = (g.kW &- 1) &* g.dilationW
    var owLo = (g.padLeft &+ g.strideW &- 1) / g.strideW
    var owHi = g.inW &- 1 &- span &+ g.padLeft >= 0 ? (g.inW &- 1 &- span &+ g.padLeft) / g.strideW &+ 1 : 0
    owHi = min(owHi, g.outW)
    owLo = min(owLo, owHi)
    let work = planes &* g.outH &* g.outW &* g.kH &* g.kW
    let threads = work >= 1 << 15 ? context.threads : 1
    rowCounts.withUnsafeBufferPointer { rowCountsBuf in
        colInverse.withUnsafeBufferPointer { colCountsBuf in
            typealias Args = (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, g: Pool2DGeometry,
                              rc: UnsafePointer<Float>, cc: UnsafePointer<Float>, interior: Range<Int>)
            let args: Args = (x, y, g, rowCountsBuf.baseAddress!, colCountsBuf.baseAddress!, owLo..<owHi)
            ExecutionContext(threads: threads).parallelFor(planes, with: args) { raw, p0, p1 in
                let (x, y, g, rc, cc, interior) = raw.load(as: Args.self)
                // Room for a 16-wide load starting at the last input column.
                let tmp = ThreadWorkspace.floats(g.inW &+ 16)
                tmp.initialize(repeating: 0, count: g.inW &+ 16)
                for plane in p0..<p1 {
                    let src = x + plane &* (g.inH &* g.inW)
                    let dst = y + plane &* (g.outH &* g.outW)
                    for oh in 0..<g.outH {
                        poolSumRows_f32(src, tmp, oh: oh, g)
                        let out = dst + oh &* g.outW
                        poolSumColumns_f32(tmp, out, g, interior: interior)
                        let r = rc[oh]
                        for ow in 0..<g.outW { out[ow] = out[ow] / (r * cc[ow]) }
                    }
                }
            }
        }
    }
}

/// `tmp[w]` = sum over the valid kernel rows of output row `oh`, for every input column.
@inline(__always)
func poolSumRows_f32(_ src: UnsafePointer<Float>, _ tmp: UnsafeMutablePointer<Float>, oh: Int,
                     _ g: Pool2DGeometry) {
    let start = oh &* g.strideH &- g.padTop
    var first = true
    for kh in 0..<g.kH {
        let ih = start &+ kh &* g.dilationH
        if ih < 0 || ih >= g.inH { continue }
        let row = src + ih &* g.inW
        if first {
            tmp.update(from: row, count: g.inW)
            first = false
            continue
        }
        var w = 0
        while w &+ 8 <= g.inW {
            let a = UnsafeRawPointer(tmp + w).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(row + w).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(tmp + w).storeBytes(of: a + b, as: SIMD8<Float>.self)
            w &+= 8
        }
        while w < g.inW {
            let b = row[w]
            tmp[w] += b
            w &+= 1
        }
    }
    if first {
        // No kernel row inside the input: the window is all padding.
        tmp.update(repeating: 0, count: g.inW)
    }
}

/// `out[ow]` = sum over the valid kernel columns of `tmp`.
@inline(__always)
func poolSumColumns_f32(_ tmp: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                        _ g: Pool2DGeometry, interior: Range<Int>) {
    var ow = 0
    // Scalar with bounds checks: the left border, then whatever the SIMD loop leaves.
    @inline(__always) func scalar(_ ow: Int) {
        let start = ow &* g.strideW &- g.padLeft
        var acc: Float = 0
        for kw in 0..<g.kW {
            let iw = start &+ kw &* g.dilationW
            if iw < 0 || iw >= g.inW { continue }
            acc += tmp[iw]
        }
        out[ow] = acc
    }
    while ow < interior.lowerBound { scalar(ow); ow &+= 1 }
    if g.strideW == 1 || g.strideW == 2 {
        while ow &+ 8 <= interior.upperBound {
            var acc = SIMD8<Float>(repeating: 0)
            let base = tmp + (ow &* g.strideW &- g.padLeft)
            for kw in 0..<g.kW {
                let p = UnsafeRawPointer(base + kw &* g.dilationW)
                let v: SIMD8<Float> = g.strideW == 1 ? p.loadUnaligned(as: SIMD8<Float>.self)
                                                     : p.loadUnaligned(as: SIMD16<Float>.self).evenLanes
                acc += v
            }
            UnsafeMutableRawPointer(out + ow).storeBytes(of: acc, as: SIMD8<Float>.self)
            ow &+= 8
        }
    }
    while ow < g.outW { scalar(ow); ow &+= 1 }
}

/// Max or mean over each of `planes` contiguous planes of `size` elements: `y[p] = reduce(x[p, :])`.
func globalPool_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int, size: Int,
                    isMax: Bool, context: ExecutionContext) {
    // The process's kernel variant (`KernelDispatch`), four vectors of accumulators per plane.
    let table = KernelDispatch.table()
    let threads = planes &* size >= 1 << 16 ? context.threads : 1
    let args = (table, x, y, size, isMax)
    ExecutionContext(threads: threads).parallelFor(planes, with: args) { raw, p0, p1 in
        let (table, x, y, size, isMax) =
            raw.load(as: (KernelTable, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Bool).self)
        table.globalPool(x, size, p0..<p1, isMax, y)
    }
}
