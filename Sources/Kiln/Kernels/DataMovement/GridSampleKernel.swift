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
    let nearest: Bool
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
/// `align_corners`) as a source coordinate, after the padding's clipping or reflection.
@inline(__always)
private func sourceCoordinate(_ g: Float, size: Int, _ geo: GridSampleGeometry) -> Float {
    // A non-finite position samples nothing (every tap outside), never an Int conversion trap.
    guard g.isFinite else { return -2 }
    var x = geo.alignCorners ? (g + 1) / 2 * Float(size - 1) : ((g + 1) * Float(size) - 1) / 2
    switch geo.padding {
    case .zeros: return min(max(x, -2), Float(size + 1))  // further out reads the same zeros
    case .border: break
    case .reflection:
        x = geo.alignCorners ? reflect(x, twiceLow: 0, twiceHigh: 2 * (size - 1)) : reflect(x, twiceLow: -1, twiceHigh: 2 * size - 1)
    }
    return min(max(x, 0), Float(size - 1))
}

/// `GridSample` over 4-D float32 tensors, bilinear or nearest (ties to even, as PyTorch's
/// `nearbyint`): `y[n, c, i, j]` samples plane `(n, c)` of `x` at `grid[n, i, j] = (gx, gy)`.
/// Taps outside the input read 0 (after `border` / `reflection` moved the coordinate inside).
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
                let sx = sourceCoordinate(g[0], size: geo.w, geo), sy = sourceCoordinate(g[1], size: geo.h, geo)
                if geo.nearest {
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
