import ArgumentParser
import CAllocCount
import Foundation
import Kiln

/// `kiln-bench`: load time, latency percentiles after warm-up, throughput and achieved GFLOPS of
/// one model. Setup (load, input creation, warm-up) is outside the timed region.
@main
struct KilnBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln-bench",
        abstract: "Measure a Kiln model's load time, latency and throughput.")

    @Argument(help: "The .kiln file.") var model: String
    @Option(help: "Threads per inference (default: all cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Batch size (the model's first input dim must be symbolic for > 1).") var batch: Int = 1
    @Option(help: "Timed iterations.") var iterations: Int = 50
    @Option(help: "Untimed warm-up iterations.") var warmup: Int = 5
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Flag(help: "Also check the data section's SHA-256 at load (as kiln-serve does), inside load_ms.") var verifyHash = false
    @Option(help: "Load the model this many more times in the same process and report the median (reload_ms): the load without the process's one-time costs (runtime metadata, OpenBLAS and Foundation set-up).") var reloads: Int = 0
    @Flag(help: "Also print the time per op type (per node, the median of --profile-runs profiled runs).") var perOp = false
    @Flag(help: "Also time raw cblas_sgemm on the model's GEMM shapes (the BLAS floor).") var blasBaseline = false
    @Option(help: "Also print the N slowest nodes (median of --profile-runs profiled runs), with shapes.") var slowest: Int = 0
    @Option(help: "Profiled runs behind --per-op and --slowest; each node's time is its median over them.") var profileRuns: Int = 5

    func run() throws {
        do {
            try measure()
        } catch let e as KilnError {
            FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
            throw ExitCode(2)
        }
    }

    func measure() throws {
        let url = URL(fileURLWithPath: model)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let m = try Model(contentsOf: url, options: .init(threads: threads, verifyDataHash: verifyHash))
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var reloadSamples: [Double] = []
        for _ in 0..<max(0, reloads) {
            let r0 = DispatchTime.now().uptimeNanoseconds
            _ = try Model(contentsOf: url, options: .init(threads: threads, verifyDataHash: verifyHash))
            reloadSamples.append(Double(DispatchTime.now().uptimeNanoseconds - r0) / 1e9)
        }
        let reloadSeconds = reloadSamples.isEmpty ? nil : reloadSamples.sorted()[reloadSamples.count / 2]

        var feeds: [String: Tensor] = [:]
        for (name, t) in try m.defaultInputs() {
            feeds[name] = try Self.repeatBatch(t, batch)
        }
        let first = DispatchTime.now().uptimeNanoseconds
        _ = try m.predict(feeds)
        let firstSeconds = Double(DispatchTime.now().uptimeNanoseconds - first) / 1e9
        for _ in 0..<max(0, warmup) { _ = try m.predict(feeds) }
        var samples: [Double] = []
        for _ in 0..<max(1, iterations) {
            let s = DispatchTime.now().uptimeNanoseconds
            _ = try m.predict(feeds)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
        }
        samples.sort()
        // Heap allocations of one warm inference (every thread; kiln-bench interposes malloc):
        // through the allocation-free path (inputs in order, outputs written into the caller's
        // tensors, warmed by two calls), and through the dictionary `predict` timed above, whose
        // returned dictionary and output tensors are new each call.
        let ordered = m.inputs.map { feeds[$0.name]! }
        var outputs: [Tensor] = []
        for _ in 0..<2 { try m.predict(ordered, into: &outputs) }
        kiln_alloc_count_start()
        try m.predict(ordered, into: &outputs)
        let allocations = Int(kiln_alloc_count_stop())
        kiln_alloc_count_start()
        _ = try m.predict(feeds)
        let dictionaryAllocations = Int(kiln_alloc_count_stop())
        func pct(_ p: Double) -> Double { samples[min(samples.count - 1, Int((p / 100 * Double(samples.count - 1)).rounded()))] }
        // Per node, the median over several profiled runs: one run on a shared machine is noisy.
        let runs = slowest > 0 || perOp ? max(1, profileRuns) : 1
        var profile = try m.profile(feeds)
        if runs > 1 {
            var times = profile.map { [$0.seconds] }
            for _ in 1..<runs {
                for (i, s) in try m.profile(feeds).enumerated() where i < times.count { times[i].append(s.seconds) }
            }
            for i in profile.indices { profile[i].seconds = times[i].sorted()[times[i].count / 2] }
        }
        let macs = profile.reduce(0) { $0 + $1.macs }
        let p50 = pct(50)
        var result: [String: Any] = [
            "model": url.lastPathComponent, "threads": threads, "batch": batch, "iterations": samples.count,
            "load_ms": loadSeconds * 1e3, "first_inference_ms": firstSeconds * 1e3,
            "min_ms": samples[0] * 1e3, "p50_ms": p50 * 1e3, "p90_ms": pct(90) * 1e3, "p99_ms": pct(99) * 1e3,
            "mean_ms": samples.reduce(0, +) / Double(samples.count) * 1e3,
            "throughput_per_s": Double(batch) / p50, "gmacs": Double(macs) / 1e9,
            "gflops": 2 * Double(macs) / p50 / 1e9,
            "arena_bytes": m.arenaBytes(for: feeds) ?? 0, "allocations_per_inference": allocations,
            "allocations_per_inference_dictionary": dictionaryAllocations, "blas": BLASInfo.description, "kernels": BLASInfo.kernelDescription,
        ]
        if let reloadSeconds { result["reload_ms"] = reloadSeconds * 1e3 }
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(url.lastPathComponent): threads \(threads), batch \(batch), \(samples.count) iterations after \(warmup) warm-up")
            print(BLASInfo.kernelDescription)
            print(BLASInfo.description)
            print(String(format: "load %.1f ms, first inference %.1f ms", loadSeconds * 1e3, firstSeconds * 1e3))
            if let reloadSeconds {
                print(String(format: "reload %.1f ms (median of %d more loads in this process)", reloadSeconds * 1e3, reloadSamples.count))
            }
            print(String(format: "latency ms: min %.2f  p50 %.2f  p90 %.2f  p99 %.2f", samples[0] * 1e3, p50 * 1e3, pct(90) * 1e3, pct(99) * 1e3))
            print(String(format: "throughput %.1f images/s, %.2f GMACs/image-batch, %.1f GFLOPS achieved",
                         Double(batch) / p50, Double(macs) / 1e9, 2 * Double(macs) / p50 / 1e9))
            print("heap allocations per inference: \(allocations) with predict(_:into:), \(dictionaryAllocations) with predict([String: Tensor]) (after warm-up)")
            if let stats = m.memoryStatistics(for: feeds) {
                print(String(format: "activation arena %.1f MB (%.1f MB of intermediates without reuse)",
                             Double(stats.arenaBytes) / 1e6, Double(stats.totalBytes) / 1e6))
            }
        }
        if blasBaseline {
            let products = BLASBaseline.products(profile)
            let floor = BLASBaseline.measure(products.map(\.product), threads: threads, iterations: max(3, iterations / 5))
            let gemmOps = Set(products.map(\.op))
            var kilnGemm = 0.0
            for s in profile where gemmOps.contains(s.opType) { kilnGemm += s.seconds }
            print(String(format: "BLAS floor: raw cblas_sgemm on the same %d GEMM shapes %.2f ms; Kiln spends %.2f ms in %@ (profiled run)",
                         products.count, floor * 1e3, kilnGemm * 1e3, gemmOps.sorted().joined(separator: "/")))
        }
        if slowest > 0 {
            for st in profile.sorted(by: { $0.seconds > $1.seconds }).prefix(slowest) {
                let ins = st.inputShapes.map { $0.map { "\($0)" } ?? "-" }.joined(separator: " ")
                print(String(format: "  %8.3f ms  %7.2f GFLOPS  ", st.seconds * 1e3, st.seconds > 0 ? 2 * Double(st.macs) / st.seconds / 1e9 : 0)
                      + "\(st.opType) \(st.node)  in \(ins) → \(st.outputShapes)")
            }
        }
        if perOp {
            var byOp: [String: (Double, Int)] = [:]
            for s in profile { byOp[s.opType, default: (0, 0)].0 += s.seconds; byOp[s.opType, default: (0, 0)].1 += s.macs }
            let total = byOp.values.reduce(0) { $0 + $1.0 }
            for (op, (sec, macs)) in byOp.sorted(by: { $0.value.0 > $1.value.0 }) {
                let name = op.padding(toLength: max(22, op.count), withPad: " ", startingAt: 0)
                print("  " + name + String(format: " %8.2f ms  %5.1f%%  %7.1f GFLOPS", sec * 1e3, sec / total * 100,
                                           sec > 0 ? 2 * Double(macs) / sec / 1e9 : 0))
            }
        }
    }

    /// Repeats a batch-1 tensor `n` times along the first axis.
    static func repeatBatch(_ t: Tensor, _ n: Int) throws -> Tensor {
        guard n > 1 else { return t }
        let per = t.byteCount
        var bytes = [UInt8]()
        bytes.reserveCapacity(per * n)
        t.withUnsafeBytes { b in for _ in 0..<n { bytes.append(contentsOf: b) } }
        let shape = [t.shape[0] * n] + t.shape.dropFirst()
        switch t.dtype {
        case .float32:
            let floats = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            return try Tensor(shape: shape, scalars: floats)
        default:
            throw KilnError.invalidArgument(op: "kiln-bench", node: nil, reason: "--batch needs float32 inputs")
        }
    }
}
