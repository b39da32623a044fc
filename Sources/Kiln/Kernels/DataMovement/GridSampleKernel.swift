import Foundation

/// How `GridSample` reads outside the input: zeros, the nearest edge pixel, or the input
/// reflected at its border.
enum GridSamplePadding: String, Sendable {
    case zeros, border, reflection
}

/// The geometry of one `GridSample` call: input planes `[N, C, H, W]`, output `[N, C, Ho, Wo]`.
struct GridSampleGeometry: Sendable {
    let n: Int, c: Int, h: Int, w: Int, ho: Int, wo: Int
    let alignCorners: Bool
    let padding: GridSamplePadding
    let mode: GridSampleMode
}

/// `GridSample`'s interpolation.
enum GridSampleMode: Sendable {
    case bilinear, nearest, bicubic
}

/// `in` reflected into `[low/2, high/2]` (arguments doubled so half-pixel bounds stay integers).
@inline(__always)
private func reflect(_ x: Float, twiceLow: Int, twiceHigh: Int) -> Float {
    if twiceLow == twiceHigh { return 0 }
    let lo = Float(twiceLow) / 2, span = Float(twiceHigh - twiceLow) / 2
    let d = abs(x - lo)
    let extra = fmodf(d, span)
    // The parity of the flip count in float: a far-out coordinate must not overflow an Int.
    let flips = floorf(d / span)
    return fmodf(flips, 2) == 0 ? extra + lo : span - extra + lo
}

/// A normalized grid coordinate (`-1` is the first pixel's left edge, or its centre with
/// `align_corners`) as a source coordinate, before any padding rule.
@inline(__always)
private func unnormalized(_ g: Float, size: Int, _ geo: GridSampleGeometry) -> Float {
    geo.alignCorners ? (g + 1) / 2 * Float(size - 1) : ((g + 1) * Float(size) - 1) / 2
}

/// A source coordinate moved by the padding rule: clamped (`border`), reflected then clamped
/// (`reflection`), or left alone (`zeros`, where taps outside read 0).
@inline(__always)
private func padded(_ x: Float, size: Int, _ geo: GridSampleGeometry) -> Float {
    var x = x
    switch geo.padding {
    case .zeros: return x
    case .border: break
    case .reflection:
        x = geo.alignCorners ? reflect(x, twiceLow: 0, twiceHigh: 2 * (size - 1)) : reflect(x, twiceLow: -1, twiceHigh: 2 * size - 1)
    }
    return min(max(x, 0), Float(size - 1))
}

/// The sampling coordinate of a bilinear or nearest tap: unnormalized, padded, and kept within a
/// few pixels of the input so that far-out or non-finite positions (which read zeros) never trap in
/// an Int conversion.
@inline(__always)
private func sourceCoordinate(_ g: Float, size: Int, _ geo: GridSampleGeometry) -> Float {
    guard g.isFinite else { return -2 }
    return min(max(padded(unnormalized(g, size: size, geo), size: size, geo), -2), Float(size + 1))
}

/// Keys' cubic weights (a = −0.75, PyTorch's) of the taps at −1, 0, 1, 2 from ⌊x⌋, `t = x − ⌊x⌋`.
@inline(__always)
private func cubicWeights(_ t: Float) -> (Float, Float, Float, Float) {
    let a: Float = -0.75
    let w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    let w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    let w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    let w3 = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a
    return (w0, w1, w2, w3)
}

/// Bicubic: 4×4 taps around the unnormalized coordinate, each tap's own coordinate moved by the
/// padding rule (PyTorch's order: the sample point itself is not clamped or reflected).
private func bicubicSample(_ p: UnsafePointer<Float>, sx: Float, sy: Float, _ geo: GridSampleGeometry) -> Float {
    guard sx.isFinite, sy.isFinite else { return 0 }
    // Past 4 pixels outside every tap is outside too (or clamps to the same edge); reflection is
    // periodic, so there only absurd distances are cut (to keep Int conversions in range).
    let far: Float = 1_048_576
    let (x, y) = geo.padding == .reflection
        ? (min(max(sx, -far), far), min(max(sy, -far), far))
        : (min(max(sx, -5), Float(geo.w + 4)), min(max(sy, -5), Float(geo.h + 4)))
    let fx = floorf(x), fy = floorf(y)
    let wx = cubicWeights(x - fx), wy = cubicWeights(y - fy)
    let wxs = [wx.0, wx.1, wx.2, wx.3], wys = [wy.0, wy.1, wy.2, wy.3]
    func index(_ v: Float, _ size: Int) -> Int? {
        let c = padded(v, size: size, geo).rounded(.down)
        let i = Int(c)
        return i >= 0 && i < size ? i : nil
    }
    var acc: Float = 0
    for j in 0..<4 {
        guard let r = index(fy - 1 + Float(j), geo.h) else { continue }
        var row: Float = 0
        for i in 0..<4 {
            if let q = index(fx - 1 + Float(i), geo.w) { row += wxs[i] * p[r * geo.w + q] }
        }
        acc += wys[j] * row
    }
    return acc
}

/// `GridSample` over 4-D float32 tensors, bilinear, nearest (ties to even, as PyTorch's
/// `nearbyint`) or bicubic: `y[n, c, i, j]` samples plane `(n, c)` of `x` at
/// `grid[n, i, j] = (gx, gy)`. Taps outside the input read 0 (after `border` / `reflection` moved
/// the coordinate, or for bicubic each tap, inside).
/// Parallel over output rows of all batches.
func gridSample2D_f32(_ x: UnsafePointer<Float>, _ grid: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                      _ geo: GridSampleGeometry, context: ExecutionContext) {
    let plane = geo.h * geo.w, outPlane = geo.ho * geo.wo
    let threads = geo.n * geo.c * outPlane >= 1 << 15 ? context.threads : 1
    func tap(_ p: UnsafePointer<Float>, _ r: Int, _ q: Int) -> Float {
        r >= 0 && r < geo.h && q >= 0 && q < geo.w ? p[r * geo.w + q] : 0
    }
    func rows(_ start: Int, _ end: Int) {
        for row in start..<end {
            let b = row / geo.ho, i = row % geo.ho
            for j in 0..<geo.wo {
                let g = grid + ((b * geo.ho + i) * geo.wo + j) * 2
                if geo.mode == .bicubic {
                    let sx = unnormalized(g[0], size: geo.w, geo), sy = unnormalized(g[1], size: geo.h, geo)
                    for ch in 0..<geo.c {
                        y[(b * geo.c + ch) * outPlane + i * geo.wo + j] = bicubicSample(x + (b * geo.c + ch) * plane, sx: sx, sy: sy, geo)
                    }
                    continue
                }
                let sx = sourceCoordinate(g[0], size: geo.w, geo), sy = sourceCoordinate(g[1], size: geo.h, geo)
                if geo.mode == .nearest {
                    let q = Int(sx.rounded(.toNearestOrEven)), r = Int(sy.rounded(.toNearestOrEven))
                    for ch in 0..<geo.c {
                        y[(b * geo.c + ch) * outPlane + i * geo.wo + j] = tap(x + (b * geo.c + ch) * plane, r, q)
                    }
                    continue
                }
                let fx = floorf(sx), fy = floorf(sy)
                let q = Int(fx), r = Int(fy)
                let ax = sx - fx, ay = sy - fy
                for ch in 0..<geo.c {
                    let p = x + (b * geo.c + ch) * plane
                    let top = tap(p, r, q) * (1 - ax) + tap(p, r, q + 1) * ax
                    let bottom = tap(p, r + 1, q) * (1 - ax) + tap(p, r + 1, q + 1) * ax
                    y[(b * geo.c + ch) * outPlane + i * geo.wo + j] = top * (1 - ay) + bottom * ay
                }
            }
        }
    }
    if threads > 1 { context.parallelFor(geo.n * geo.ho, rows) } else { rows(0, geo.n * geo.ho) }
}
