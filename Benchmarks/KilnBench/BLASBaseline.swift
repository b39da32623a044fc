import CBLAS
import Foundation
import Kiln

/// The BLAS floor of a model: the time raw `cblas_sgemm` (OpenBLAS with its own threads) needs for
/// the same matrix products Kiln's GEMM-backed convolutions and Gemm/MatMul nodes perform. Kiln's
/// time for those ops minus this is Kiln's overhead (im2col, bias, activation, partitioning).
enum BLASBaseline {
    struct Product { let m: Int, n: Int, k: Int, repeats: Int }

    /// The GEMMs behind each profiled step (depthwise convolutions run without GEMM and are skipped).
    static func products(_ profile: [StepProfile]) -> [(op: String, product: Product)] {
        var out: [(String, Product)] = []
        for s in profile {
            switch s.opType {
            case "Conv":
                guard s.inputShapes.count >= 2, let x = s.inputShapes[0], let w = s.inputShapes[1], let y = s.outputShapes.first,
                      x.count >= 3, w.count >= 3, w[1] > 0 else { continue }
                let group = x[1] / w[1]
                if w[1] == 1 && group > 1 { continue } // depthwise: direct kernel in Kiln
                let k = w.dropFirst().reduce(1, *), n = y.dropFirst(2).reduce(1, *)
                out.append((s.opType, Product(m: w[0] / max(group, 1), n: n, k: k, repeats: x[0] * group)))
            case "Gemm", "MatMul":
                guard let y = s.outputShapes.first, y.count >= 2, s.macs > 0 else { continue }
                let m = y[y.count - 2], n = y[y.count - 1]
                let batch = y.dropLast(2).reduce(1, *)
                out.append((s.opType, Product(m: m, n: n, k: s.macs / max(m * n * batch, 1), repeats: batch)))
            default: continue
            }
        }
        return out
    }

    /// Median seconds of running every product once, over `iterations` rounds.
    static func measure(_ products: [Product], threads: Int, iterations: Int) -> Double {
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(1) }
        let maxA = products.map { $0.m * $0.k }.max() ?? 1, maxB = products.map { $0.k * $0.n }.max() ?? 1
        let maxC = products.map { $0.m * $0.n }.max() ?? 1
        let a = [Float](repeating: 0.5, count: maxA), b = [Float](repeating: 0.25, count: maxB)
        var c = [Float](repeating: 0, count: maxC)
        func round() {
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                for p in products {
                    for _ in 0..<p.repeats {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(p.m), Int32(p.n), Int32(p.k),
                                    1, pa.baseAddress, Int32(p.k), pb.baseAddress, Int32(p.n), 0, pc.baseAddress, Int32(p.n))
                    }
                }
            } } }
        }
        round()
        var samples: [Double] = []
        for _ in 0..<max(1, iterations) {
            let t = DispatchTime.now().uptimeNanoseconds
            round()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
        }
        return samples.sorted()[samples.count / 2]
    }
}
