/// Separable resampling for `Resize`/`Upsample` (float32).
///
/// Nearest, N-linear and cubic interpolation are all separable: resizing axis by axis with a 1-D
/// filter gives the same result as the N-d formula (up to float rounding order). For each resized
/// axis a table of taps (source indices and weights per output position) is computed once per
/// call, then one pass resamples that axis. Passes run from the innermost axis outwards, which is
/// the order PyTorch's bilinear/bicubic kernels combine rows in.

/// How an output coordinate maps back to the input (ONNX `coordinate_transformation_mode`).
enum ResizeCoordinateMode: String, Sendable {
    case halfPixel = "half_pixel"
    case halfPixelSymmetric = "half_pixel_symmetric"
    case pytorchHalfPixel = "pytorch_half_pixel"
    case alignCorners = "align_corners"
    case asymmetric
    case tfHalfPixelForNN = "tf_half_pixel_for_nn"
    case tfCropAndResize = "tf_crop_and_resize"
}

/// How a fractional coordinate becomes an index in `nearest` mode (ONNX `nearest_mode`, plus
/// `simple`, the opset < 11 rule of ONNX Runtime: floor when upsampling, ceil when downsampling).
enum ResizeNearestMode: String, Sendable {
    case roundPreferFloor = "round_prefer_floor"
    case roundPreferCeil = "round_prefer_ceil"
    case floor
    case ceil
    case simple
}

/// Interpolation mode.
enum ResizeMode: String, Sendable {
    case nearest, linear, cubic
}

/// Everything about a resize that comes from attributes.
struct ResizeSpec: Sendable {
    var mode: ResizeMode
    var coordinates: ResizeCoordinateMode
    var nearest: ResizeNearestMode
    var cubicA: Float
    var excludeOutside: Bool
    var extrapolationValue: Float
    /// `antialias = 1`: linear and cubic use a filter stretched by `1 / scale` when downscaling.
    var antialias = false
}

/// The taps of one axis: for output position `o`, `taps` source indices and weights at
/// `o·taps ..< (o+1)·taps`; `extrapolate[o]` marks positions outside the crop window
/// (`tf_crop_and_resize`), which take the extrapolation value.
struct ResizeAxisTable {
    var taps: Int
    var indices: [Int]
    var weights: [Float]
    var extrapolate: [Bool]

    /// Whether the table maps every output position to the same input position with weight 1.
    var isIdentity: Bool {
        let n = extrapolate.count
        guard indices.count == n * taps else { return false }
        for o in 0..<n {
            if extrapolate[o] { return false }
            for k in 0..<taps {
                let w = weights[o * taps + k], i = indices[o * taps + k]
                if i == o ? w != 1 : w != 0 { return false }
            }
        }
        return true
    }

    /// Builds the table of one axis. Coordinates are computed in float32, as ONNX Runtime does,
    /// so that nearest-mode rounding ties resolve the same way.
    init(spec: ResizeSpec, inLen: Int, outLen: Int, scale: Float, roiStart: Float, roiEnd: Float) {
        if spec.antialias && spec.mode != .nearest {
            self = Self.antialiased(spec: spec, inLen: inLen, outLen: outLen, scale: scale, roiStart: roiStart, roiEnd: roiEnd)
            return
        }
        let taps: Int
        switch spec.mode {
        case .nearest: taps = 1
        case .linear: taps = 2
        case .cubic: taps = 4
        }
        self.taps = taps
        indices = [Int](repeating: 0, count: outLen * taps)
        weights = [Float](repeating: 0, count: outLen * taps)
        extrapolate = [Bool](repeating: false, count: outLen)
        let last = Float(inLen - 1)
        for o in 0..<outLen {
            var x = originalCoordinate(Float(o), spec.coordinates, scale: scale, inLen: inLen, outLen: outLen,
                                       roiStart: roiStart, roiEnd: roiEnd)
            if spec.coordinates == .tfCropAndResize && (x < 0 || x > last) {
                extrapolate[o] = true
                continue
            }
            let base = o * taps
            switch spec.mode {
            case .nearest:
                let i: Int
                switch spec.nearest {
                case .roundPreferFloor:
                    i = x == x.rounded(.down) + 0.5 ? Int(x.rounded(.down)) : Int(x.rounded(.toNearestOrAwayFromZero))
                case .roundPreferCeil: i = Int(x.rounded(.toNearestOrAwayFromZero))
                case .floor: i = Int(x.rounded(.down))
                case .ceil: i = Int(x.rounded(.up))
                case .simple: i = scale < 1 ? Int(x.rounded(.up)) : Int(x.rounded(.towardZero))
                }
                indices[base] = min(max(i, 0), inLen - 1)
                weights[base] = 1
            case .linear:
                x = min(max(x, 0), last)
                let i0 = min(Int(x), inLen - 1), i1 = min(i0 + 1, inLen - 1)
                indices[base] = i0; indices[base + 1] = i1
                if i0 == i1 {
                    weights[base] = 0.5; weights[base + 1] = 0.5
                } else {
                    let t = x - Float(i0)
                    weights[base] = 1 - t; weights[base + 1] = t
                }
            case .cubic:
                let f = x.rounded(.down)
                let t = x - f
                let a = spec.cubicA
                var c: [Float] = [
                    ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                    ((a + 2) * t - (a + 3)) * t * t + 1,
                    ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
                    ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a,
                ]
                let i0 = Int(f) - 1
                if spec.excludeOutside {
                    var sum: Float = 0
                    for k in 0..<4 {
                        if i0 + k < 0 || i0 + k >= inLen { c[k] = 0 }
                        sum += c[k]
                    }
                    if sum != 0 { for k in 0..<4 { c[k] /= sum } }
                }
                for k in 0..<4 {
                    indices[base + k] = min(max(i0 + k, 0), inLen - 1)
                    weights[base + k] = c[k]
                }
            }
        }
    }
}

extension ResizeAxisTable {
    /// A table of `taps` taps per output position, all weights zero (index 0).
    private init(taps: Int, outLen: Int) {
        self.taps = taps
        indices = [Int](repeating: 0, count: outLen * taps)
        weights = [Float](repeating: 0, count: outLen * taps)
        extrapolate = [Bool](repeating: false, count: outLen)
    }

    /// The taps of an antialiased linear or cubic resize (ONNX Runtime's, after Pillow's): the
    /// filter (triangle, or Keys cubic with `cubic_coeff_a`) is stretched by `max(1, in / out)`, so
    /// a downscale averages every input sample under it. Output `o` is centred at its original
    /// coordinate + 0.5 and takes the inputs `⌊centre − support + 0.5⌋ ..< ⌊centre + support + 0.5⌋`,
    /// weights normalized to sum 1. Taps past the edges read the edge sample (`exclude_outside = 0`)
    /// or are dropped before normalizing (`exclude_outside = 1`, what PyTorch's and Pillow's
    /// antialiased resizes do).
    static func antialiased(spec: ResizeSpec, inLen: Int, outLen: Int, scale: Float, roiStart: Float, roiEnd: Float) -> ResizeAxisTable {
        // An empty output needs no taps (and its scale may be tiny enough to overflow the window).
        guard outLen > 0 else { return ResizeAxisTable(taps: 1, outLen: 0) }
        // With at least one output, scale ≥ 1 / inLen, so the window spans at most ~4 · inLen taps.
        let stretch = Double(max(1, 1 / scale))
        let support = (spec.mode == .linear ? 1 : 2) * stretch
        let taps = 2 * Int(support.rounded(.up)) + 1
        var table = ResizeAxisTable(taps: taps, outLen: outLen)
        let a = Double(spec.cubicA)
        func filter(_ t: Double) -> Double {
            let x = abs(t)
            if spec.mode == .linear { return max(0, 1 - x) }
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            return x < 2 ? (((x - 5) * x + 8) * x - 4) * a : 0
        }
        var w = [Double](repeating: 0, count: taps)
        for o in 0..<outLen {
            let original = scale == 1 ? Float(o) : originalCoordinate(Float(o), spec.coordinates, scale: scale, inLen: inLen,
                                                                     outLen: outLen, roiStart: roiStart, roiEnd: roiEnd)
            let centre = Double(original) + 0.5
            guard centre.isFinite else { continue }
            let first = Int((centre - support + 0.5).rounded(.down)), end = Int((centre + support + 0.5).rounded(.down))
            var total = 0.0
            for k in 0..<min(taps, max(0, end - first)) {
                let i = first + k
                let inside = i >= 0 && i < inLen
                w[k] = spec.excludeOutside && !inside ? 0 : filter((Double(i) - centre + 0.5) / stretch)
                total += w[k]
                table.indices[o * taps + k] = min(max(i, 0), inLen - 1)
            }
            guard total != 0 else { continue }
            for k in 0..<min(taps, max(0, end - first)) { table.weights[o * taps + k] = Float(w[k] / total) }
        }
        return table
    }
}

/// The input coordinate of output coordinate `x` along one axis (ONNX formulas, float32).
@inline(__always)
func originalCoordinate(_ x: Float, _ mode: ResizeCoordinateMode, scale: Float, inLen: Int, outLen: Int,
                        roiStart: Float, roiEnd: Float) -> Float {
    let inF = Float(inLen), outF = Float(outLen)
    switch mode {
    case .halfPixel: return (x + 0.5) / scale - 0.5
    case .halfPixelSymmetric:
        let adjustment = outF / (scale * inF)
        let offset = inF / 2 * (1 - adjustment)
        return offset + (x + 0.5) / scale - 0.5
    case .pytorchHalfPixel: return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0
    case .alignCorners: return outLen == 1 ? 0 : x * (inF - 1) / (outF - 1)
    case .asymmetric: return x / scale
    case .tfHalfPixelForNN: return (x + 0.5) / scale
    case .tfCropAndResize:
        return outLen > 1
            ? roiStart * (inF - 1) + x * (roiEnd - roiStart) * (inF - 1) / (outF - 1)
            : 0.5 * (roiStart + roiEnd) * (inF - 1)
    }
}

/// Resamples the middle axis of `[outer, inLen, inner]` into `[outer, outLen, inner]` with `table`.
func resizeAxis_f32(src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>, outer: Int, inLen: Int,
                    inner: Int, outLen: Int, table: ResizeAxisTable, extrapolationValue: Float,
                    context: ExecutionContext) {
    let taps = table.taps
    let work = outer &* outLen &* inner &* taps
    let threads = work >= 1 << 16 ? context.threads : 1
    table.indices.withUnsafeBufferPointer { idx in
        table.weights.withUnsafeBufferPointer { w in
            table.extrapolate.withUnsafeBufferPointer { ex in
                typealias Args = (src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>, inLen: Int, outLen: Int,
                                  inner: Int, taps: Int, idx: UnsafeBufferPointer<Int>, w: UnsafeBufferPointer<Float>,
                                  ex: UnsafeBufferPointer<Bool>, extrapolationValue: Float)
                let args: Args = (src, dst, inLen, outLen, inner, taps, idx, w, ex, extrapolationValue)
                if inner == 1 {
                    ExecutionContext(threads: threads).parallelFor(outer, with: args) { raw, start, end in
                        let (src, dst, inLen, outLen, _, taps, idx, w, ex, extrapolationValue) = raw.load(as: Args.self)
                        for row in start..<end {
                            resizeRow_f32(src + row &* inLen, dst + row &* outLen, outLen, taps, idx, w, ex, extrapolationValue)
                        }
                    }
                } else {
                    ExecutionContext(threads: threads).parallelFor(outer &* outLen, with: args) { raw, start, end in
                        let (src, dst, inLen, outLen, inner, taps, idx, w, ex, extrapolationValue) = raw.load(as: Args.self)
                        for item in start..<end {
                            let row = item / outLen, o = item % outLen
                            let s = src + row &* inLen &* inner
                            let d = dst + item &* inner
                            if ex[o] {
                                d.update(repeating: extrapolationValue, count: inner)
                            } else if taps == 1 {
                                d.update(from: s + idx[o] &* inner, count: inner)
                            } else {
                                resizePlanes_f32(s, d, inner, taps, idx.baseAddress! + o &* taps, w.baseAddress! + o &* taps)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One row along the resized (innermost) axis: `d[o] = Σ_k w[o,k]·s[idx[o,k]]`.
@inline(__always)
private func resizeRow_f32(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ outLen: Int, _ taps: Int,
                           _ idx: UnsafeBufferPointer<Int>, _ w: UnsafeBufferPointer<Float>,
                           _ ex: UnsafeBufferPointer<Bool>, _ fill: Float) {
    var o = 0
    while o < outLen {
        let b = o &* taps
        if ex[o] {
            d[o] = fill
        } else if taps == 1 {
            d[o] = s[idx[b]]
        } else {
            var acc = w[b] * s[idx[b]]
            var k = 1
            while k < taps { acc += w[b &+ k] * s[idx[b &+ k]]; k &+= 1 }
            d[o] = acc
        }
        o &+= 1
    }
}

/// One output plane of `inner` contiguous floats as the weighted sum of `taps` input planes.
@inline(__always)
private func resizePlanes_f32(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ inner: Int, _ taps: Int,
                              _ idx: UnsafePointer<Int>, _ w: UnsafePointer<Float>) {
    var j = 0
    let p0 = s + idx[0] &* inner
    let w0 = SIMD8<Float>(repeating: w[0])
    while j &+ 8 <= inner {
        var acc = w0 * UnsafeRawPointer(p0 + j).loadUnaligned(as: SIMD8<Float>.self)
        var k = 1
        while k < taps {
            let p = s + idx[k] &* inner
            acc += SIMD8<Float>(repeating: w[k]) * UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self)
            k &+= 1
        }
        UnsafeMutableRawPointer(d + j).storeBytes(of: acc, as: SIMD8<Float>.self)
        j &+= 8
    }
    while j < inner {
        var acc = w[0] * p0[j]
        var k = 1
        while k < taps { acc += w[k] * s[idx[k] &* inner &+ j]; k &+= 1 }
        d[j] = acc
        j &+= 1
    }
}
