import XCTest
@testable import Kiln
import KilnKernels

/// The Winograd F(4,3) filters `U = G·g·Gᵀ` of ``PlannedConv`` (made two output channels at a time
/// in `SIMD2<Double>`, split over a pool) against the same transform done one filter at a time in
/// scalar `Double`, in `gemm_packA_f32`'s layout with rows past M zero: equal bit for bit, for output
/// channel counts that fill the last row panel or not, and input channels past one `gemmKC` chunk.
final class WinogradFilterTests: XCTestCase {
    func testFiltersEqualTheScalarTransformBitForBit() throws {
        for (m, c) in [(33, 16), (64, 300), (7, 5), (6, 12)] {
            var vals: [Float] = []
            var state: UInt64 = 12345
            for _ in 0..<(m * c * 9) { state = state &* 6364136223846793005 &+ 1442695040888963407; vals.append(Float(Int(state >> 40) - (1 << 23)) / Float(1 << 22)) }
            let w = try Tensor(shape: [m, c, 3, 3], scalars: vals)
            let conv = try Conv(attributes: Attributes(op: "Conv", node: "t", ["pads": .ints([1, 1, 1, 1])]))
            let p = try PlannedConv(conv, weight: w, bias: nil, kernels: KernelDispatch.table(), node: "t")
            // On a 2-thread pool, as in the load-time probe (the larger cases split their panels).
            let u = try ThreadPool.withCurrent(ThreadPool(threads: 2)) {
                try p.winogradWeights!.prepared(packedPerXi: p.winogradPackedPerXi)
            }
            let got = try u.scalars(as: Float.self)
            // One filter at a time, F(4,3)'s G factored as in PlannedConv.winogradG.
            let ppx = p.winogradPackedPerXi
            let mPad = (m + gemmMR - 1) / gemmMR * gemmMR
            var ref = [Float](repeating: 0, count: max(1, 36 * ppx))
            func g(_ a: Double, _ b: Double, _ c: Double) -> (Double, Double, Double, Double, Double, Double) {
                let s = a + c, u = a * (1.0 / 24) + c * (1.0 / 6), v = b * (1.0 / 12)
                return (a * 0.25, (s + b) * (-1.0 / 6), (s - b) * (-1.0 / 6), u + v, u - v, c)
            }
            for o in 0..<m {
                let panel = o / gemmMR, lane = o - panel * gemmMR
                var k0 = 0
                while k0 < c {
                    let kc = min(gemmKC, c - k0)
                    var out = k0 * mPad + panel * gemmMR * kc + lane
                    for i in k0..<(k0 + kc) {
                        let f = (o * c + i) * 9
                        let c0 = g(Double(vals[f]), Double(vals[f+3]), Double(vals[f+6]))
                        let c1 = g(Double(vals[f+1]), Double(vals[f+4]), Double(vals[f+7]))
                        let c2 = g(Double(vals[f+2]), Double(vals[f+5]), Double(vals[f+8]))
                        func row(_ r: Int, _ t0: Double, _ t1: Double, _ t2: Double) {
                            let x = g(t0, t1, t2); let q = out + r * 6 * ppx
                            ref[q] = Float(x.0); ref[q + ppx] = Float(x.1); ref[q + 2*ppx] = Float(x.2)
                            ref[q + 3*ppx] = Float(x.3); ref[q + 4*ppx] = Float(x.4); ref[q + 5*ppx] = Float(x.5)
                        }
                        row(0, c0.0, c1.0, c2.0); row(1, c0.1, c1.1, c2.1); row(2, c0.2, c1.2, c2.2)
                        row(3, c0.3, c1.3, c2.3); row(4, c0.4, c1.4, c2.4); row(5, c0.5, c1.5, c2.5)
                        out += gemmMR
                    }
                    k0 += kc
                }
            }
            XCTAssertEqual(got.count, ref.count)
            let diff = zip(got, ref).filter { $0.0.bitPattern != $0.1.bitPattern }.count
            XCTAssertEqual(diff, 0, "m \(m) c \(c)")
        }
    }
}
