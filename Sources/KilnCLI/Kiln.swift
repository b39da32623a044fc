import ArgumentParser
import Foundation
import Kiln
import KilnImage

@main
struct KilnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Inspect, run and verify Kiln model artifacts.",
        subcommands: [Classify.self, Inspect.self, Run.self, Verify.self, Preprocess.self]
    )
}

/// Prints a Kiln error the way every subcommand reports failures, and exits non-zero.
func fail(_ error: Error) -> ExitCode {
    let message = (error as? KilnError)?.description ?? (error as? KilnImageError)?.description ?? "\(error)"
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(2)
}

/// Loads a model, turning errors into an exit code.
func loadModel(_ path: String, threads: Int? = nil, verifyHash: Bool = false) throws -> Model {
    do {
        var options = Model.Options(verifyDataHash: verifyHash)
        if let threads { options.threads = threads }
        return try Model(contentsOf: URL(fileURLWithPath: path), options: options)
    } catch {
        throw fail(error)
    }
}

func shapeText(_ dims: [Dim]) -> String { "[" + dims.map(\.description).joined(separator: ", ") + "]" }

/// The non-batch symbols of the graph inputs (height, width...) with the size the self-test input
/// gives them, in input order: the sizes at which shapes were probed at load.
func selfTestSizes(of a: Artifact) -> [(symbol: String, size: Int)] {
    guard let spec = a.selfTest else { return [] }
    var batch: String? = nil
    if case .symbol(let s)? = a.inputs.first?.shape.first { batch = s }
    var seen = Set<String>(), out: [(symbol: String, size: Int)] = []
    for info in a.inputs {
        guard let shape = spec.inputs[info.name].flatMap({ a.tensors[$0] })?.shape, shape.count == info.shape.count else { continue }
        for (axis, d) in info.shape.enumerated() {
            if case .symbol(let s) = d, s != batch, seen.insert(s).inserted { out.append((s, shape[axis])) }
        }
    }
    return out
}

func humanCount(_ n: Double) -> String {
    switch n {
    case 1e9...: return String(format: "%.2f G", n / 1e9)
    case 1e6...: return String(format: "%.2f M", n / 1e6)
    case 1e3...: return String(format: "%.2f k", n / 1e3)
    default: return String(format: "%.0f", n)
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model: inputs, outputs, ops, parameters, MACs, preprocessing, labels, metadata.")

    @Argument(help: "The .kiln file.") var model: String
    @Flag(help: "Also check the data section's SHA-256.") var verifyHash = false
    @Flag(help: "List every node of the optimized graph with its output shapes.") var shapes = false

    func run() throws {
        let m = try loadModel(model, threads: 1, verifyHash: verifyHash)
        let a = m.artifact
        print("\(model): Kiln artifact \(a.version.major).\(a.version.minor), \(humanCount(Double(a.fileSize)))B, opset \(a.opset)")
        print("producer:  \(a.metadata.producer)")
        print("source:    \(a.metadata.sourceModel)")
        print("created:   \(a.metadata.created)")
        if !a.metadata.frameworks.isEmpty {
            print("frameworks: " + a.metadata.frameworks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        for (k, v) in a.metadata.extra.sorted(by: { $0.key < $1.key }) { print("\(k): \(v)") }
        print("data sha256: \(a.metadata.dataSHA256)\(verifyHash ? " (verified)" : "")")
        for i in a.inputs { print("input:  \(i.name) \(i.dtype) \(shapeText(i.shape))") }
        for o in a.outputs { print("output: \(o.name) \(o.dtype) \(shapeText(o.shape))") }
        var counts: [String: Int] = [:]
        for n in a.nodes { counts[n.op, default: 0] += 1 }
        print("nodes:  \(a.nodes.count) stored, \(m.plannedStepCount) after optimization")
        print("runs on: \(BLASInfo.kernelDescription); \(BLASInfo.description)")
        print("ops:    " + counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        let selftestNames = Set((a.selfTest?.inputs.values.map { $0 } ?? []) + (a.selfTest?.outputs.values.map { $0 } ?? []))
        let weights = a.records.filter { !selftestNames.contains($0.name) }
        let params = weights.filter { $0.dtype.isFloatingPoint }.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let stored = Set(weights.filter { $0.dtype.isFloatingPoint }.map(\.dtype.shortName)).sorted().joined(separator: "+")
        print("parameters: \(humanCount(Double(params))) (\(params)), stored as \(stored.isEmpty ? "-" : stored), \(humanCount(Double(weights.reduce(0) { $0 + $1.length })))B")
        do {
            let profile = try m.profile()
            let macs = profile.reduce(0) { $0 + $1.macs }
            let batch = try m.defaultInputs().values.first?.shape.first ?? 1
            print("MACs:   \(humanCount(Double(macs))) at batch \(batch) (Conv, ConvTranspose, Gemm, MatMul, LSTM, GRU, RNN)")
        } catch {
            throw fail(error)
        }
        if let p = a.preprocessingJSON { print("preprocessing: \(p)") } else { print("preprocessing: none (the caller supplies the input tensor)") }
        if let labels = a.labels {
            print("labels: \(labels.count) (" + labels.prefix(5).joined(separator: ", ") + (labels.count > 5 ? ", …" : "") + ")")
        } else {
            print("labels: none")
        }
        if let s = a.selfTest {
            print("selftest: reference \(s.reference), tolerance abs \(s.abs) + rel \(s.rel) (run `kiln verify`)")
        } else {
            print("selftest: none")
        }
        if shapes {
            // Only the batch is tracked as a symbol; other symbols (height, width) were probed at
            // the self-test's size, so say which sizes the printed dims belong to.
            let others = selfTestSizes(of: a).map { "\($0.symbol) = \($0.size)" }
            let legend = others.isEmpty ? "N = batch" : "N = batch; at the self-test's \(others.joined(separator: ", "))"
            print("optimized graph (\(m.plannedStepCount) nodes; shapes inferred at load, \(legend)):")
            for n in m.plannedNodes {
                let outs = n.outputs.filter { !$0.isEmpty }.map { o in
                    "\(o) " + (m.valueShapes?[o].map(shapeText) ?? "[?]")
                }
                print("  \(n.op.padding(toLength: 20, withPad: " ", startingAt: 0)) \(n.name) → \(outs.joined(separator: ", "))")
            }
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a model on .npy inputs and write each output as DIR/<output name>.npy.")

    @Argument(help: "The .kiln file.") var model: String
    @Option(name: .customLong("input"), help: "NAME=path.npy, once per graph input.") var inputs: [String] = []
    @Option(help: "Directory for the outputs (created if missing).") var outputDir: String
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        let m = try loadModel(model, threads: threads)
        var feeds: [String: Tensor] = [:]
        for spec in inputs {
            guard let eq = spec.firstIndex(of: "=") else {
                throw fail(KilnError.invalidArgument(op: "kiln run", node: nil, reason: "--input '\(spec)' must be NAME=path.npy"))
            }
            let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
            do { feeds[name] = try Tensor(npyContentsOf: URL(fileURLWithPath: path)) } catch { throw fail(error) }
        }
        let outputs: [String: Tensor]
        do { outputs = try m.predict(feeds) } catch { throw fail(error) }
        let dir = URL(fileURLWithPath: outputDir)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for o in m.outputs {
                // Output names may contain '/' (ONNX node paths); keep the file name flat.
                let file = dir.appendingPathComponent(o.name.replacingOccurrences(of: "/", with: "_") + ".npy")
                try outputs[o.name]!.writeNPY(to: file)
                print("\(o.name): \(outputs[o.name]!.shape) → \(file.path)")
            }
        } catch { throw fail(error) }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the stored self-test; exit 1 if any output drifts beyond the stored tolerance.")

    @Argument(help: "The .kiln file.") var model: String
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        let m = try loadModel(model, threads: threads, verifyHash: true)
        let report: SelfTestReport
        do { report = try m.verify() } catch { throw fail(error) }
        print(report)
        if !report.passed { throw ExitCode(1) }
    }
}
