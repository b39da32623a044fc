import Foundation
import KilnKernels

/// A loaded model: an artifact mapped once, optimized and planned, ready to be called from many
/// threads at once.
///
/// ```swift
/// let model = try Model(contentsOf: url, options: .init(threads: 2))
/// let out = try model.predict(["input": x])        // [String: Tensor]
/// let report = try model.verify()                  // runs the stored self-test
/// ```
///
/// `Model` is immutable after `init` and `Sendable`; each call to ``predict(_:)->[String:Tensor]`` has its own
/// state. The thread budget (``Options/threads``) is per model: parallel loops and GEMMs of every
/// inference run on the model's own pool, and OpenBLAS adds no threads of its own.
public final class Model: Sendable {
    /// How a model is loaded and run.
    public struct Options: Sendable {
        /// Threads per inference, including the caller's (≥ 1). Default: the active processor count.
        public var threads: Int
        /// Run the optimizer passes (BatchNorm folding, activation fusion, constant folding, …).
        public var optimize: Bool
        /// Recompute the data section's SHA-256 at load and refuse a mismatch.
        public var verifyDataHash: Bool
        /// Reuse one planned arena per inference instead of allocating each intermediate.
        public var memoryPlanning: Bool
        /// Infer every value's shape at load: statically, from the ops' shape functions (at the
        /// probe's batch and at twice it), checked against one probe run on the self-test input that
        /// also validates the graph end to end and warms the memory plan. Costs one inference at
        /// load; two for a model that static inference does not cover (an op without a shape
        /// function, a data-dependent shape), which is probed again with the batch doubled.
        public var inferShapes: Bool
        /// Use static shape functions (`false`: probe twice, as before they existed). A test hook.
        var staticShapes = true
        /// Keep activations channel-blocked between the convolutions that can (`false`: every
        /// value NCHW, as with `KILN_LAYOUT=plain`). A test hook: the blocked plan's oracle.
        var blockedLayouts = true
        /// The kernel variant to prepare and run with; `nil` for the process default
        /// (``KernelDispatch/defaultISA``: ``KernelDispatch/preferredISA``, or `KILN_ISA`). A variant the
        /// CPU lacks falls back to the best supported one below it.
        public var isa: KernelISA?

        /// Creates options.
        public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, optimize: Bool = true,
                    verifyDataHash: Bool = false, memoryPlanning: Bool = true, inferShapes: Bool = true,
                    isa: KernelISA? = nil) {
            self.isa = isa
            self.threads = max(1, threads)
            self.optimize = optimize
            self.verifyDataHash = verifyDataHash
            self.memoryPlanning = memoryPlanning
            self.inferShapes = inferShapes
        }
    }

    /// The artifact the model was loaded from (graph, labels, preprocessing, metadata, self-test).
    public let artifact: Artifact
    /// The options it was loaded with.
    public let options: Options
    let plan: ExecutionPlan
    let pool: ThreadPool
    let memory: MemoryPlanner?
    /// Reusable inference states, one checked out per call (see `InferenceState`).
    let states: InferenceStatePool

    /// The kernel variant this model runs.
    public var isa: KernelISA { plan.kernels.isa }

    /// Number of steps in the execution plan (nodes after optimization).
    public var plannedStepCount: Int { plan.steps.count }

    /// Loads, validates, optimizes and plans an artifact file.
    /// - Parameters:
    ///   - url: A `.kiln` file.
    ///   - options: Threads and load options.
    /// - Throws: ``KilnError`` naming what is wrong: the byte offset of a malformed field, the node of
    ///   an unsupported op or illegal attribute.
    public convenience init(contentsOf url: URL, options: Options = Options()) throws {
        // Before anything else: OpenBLAS's idle worker threads poll a core until they are stopped.
        _ = Sgemm.singleThreaded
        try self.init(artifact: Artifact(contentsOf: url, verifyDataHash: options.verifyDataHash), options: options)
    }

    /// Optimizes and plans an already loaded artifact.
    /// - Throws: ``KilnError`` for unsupported ops or illegal attributes, naming the node.
    public init(artifact: Artifact, options: Options = Options()) throws {
        _ = Sgemm.singleThreaded
        self.artifact = artifact
        self.options = options
        let registry = OpRegistry.standard
        let graph = try Optimizer.optimize(Graph(artifact), registry: registry,
                                           passes: options.optimize ? Optimizer.defaultPasses : Optimizer.requiredPasses)
        pool = ThreadPool(threads: options.threads)
        plan = try ExecutionPlan(graph: graph, registry: registry, kernels: options.isa.map { KernelDispatch.table($0) } ?? KernelDispatch.table(),
                                 pool: pool, blockedLayouts: options.blockedLayouts)
        memory = options.memoryPlanning ? MemoryPlanner() : nil
        states = InferenceStatePool(plan: plan)
        if options.inferShapes {
            let (shapes, report) = try ShapeInference.infer(plan: plan, artifact: artifact, pool: pool, memory: memory,
                                                            useStaticShapes: options.staticShapes)
            valueShapes = shapes
            shapeReport = report
        } else {
            valueShapes = nil
            shapeReport = nil
        }
    }

    /// The shape of every value of the optimized graph (graph inputs, node outputs, constants), with
    /// the batch as a symbol (`N`, `49·N`) and `?` for dims that are not a multiple of it; `nil`
    /// when shapes were not inferred (see ``Options/inferShapes``). They come from static shape
    /// functions checked against one probe run, or from probing at two batch sizes for a model the
    /// shape functions do not cover (see `ShapeInference`). Other input symbols (an image's
    /// `height` and `width`) are not tracked: the dims that depend on them are the sizes they have
    /// at the self-test input, which is what the load-time probe runs.
    public let valueShapes: [String: [Dim]]?

    /// How ``valueShapes`` were obtained (static or probed, probe runs, mismatches); `nil` without
    /// shape inference.
    let shapeReport: ShapeInference.Report?

    /// The optimized graph's nodes in execution order: name, op type, inputs and outputs.
    public var plannedNodes: [NodeDef] { plan.graph.nodes }

    /// The graph inputs.
    public var inputs: [ValueInfo] { artifact.inputs }
    /// The graph outputs.
    public var outputs: [ValueInfo] { artifact.outputs }
    /// Class labels, if the artifact has them.
    public var labels: [String]? { artifact.labels }

    /// Runs the model.
    /// - Parameter inputs: One tensor per graph input, by name. Shapes must match the declared
    ///   shapes; a symbolic dim (`N`) takes the same value wherever it appears.
    /// - Returns: Every graph output by name.
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` for a missing or unknown input,
    ///   ``KilnError/unsupportedDType(op:node:tensor:dtype:)`` / ``KilnError/shapeMismatch(op:node:tensor:expected:got:)``
    ///   for a wrong dtype or shape (saying what was expected), or a kernel's error naming the node.
    public func predict(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let ordered = try validate(inputs)
        var results: [Tensor] = []
        try run(ordered, into: &results)
        var out: [String: Tensor] = [:]
        for (o, t) in zip(plan.outputs, results) { out[o.info.name] = t }
        return out
    }

    /// Runs the model on inputs in the order of ``inputs``, writing the outputs, in the order of
    /// ``outputs``, into tensors the caller keeps: the allocation-free path. Once `outputs` holds
    /// tensors of the right dtypes and shapes that nothing else shares (after the first call, or
    /// `Tensor(zeros:)` of the declared shapes), and the model has run on inputs of these shapes
    /// before, a call makes no heap allocation at all: inputs are validated without building
    /// anything, the intermediates live in an arena that is reused, and the outputs are copied into
    /// the caller's memory. Safe to call from many threads at once, each with its own `outputs`.
    ///
    /// ```swift
    /// var logits: [Tensor] = []
    /// for image in images { try model.predict([image], into: &logits) }   // logits[0]: [1, 1000]
    /// ```
    /// - Parameters:
    ///   - inputs: One tensor per graph input, in ``inputs`` order; shapes and dtypes as for
    ///     ``predict(_:)->[String:Tensor]``.
    ///   - outputs: One tensor per graph output, in ``outputs`` order, on return. A tensor of the
    ///     right dtype and shape whose storage is not shared is written in place; any other (or a
    ///     list of the wrong length) is replaced by a new tensor.
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` for the wrong number of inputs,
    ///   ``KilnError/unsupportedDType(op:node:tensor:dtype:)`` / ``KilnError/shapeMismatch(op:node:tensor:expected:got:)``
    ///   for a wrong dtype or shape, or a kernel's error naming the node. `outputs` is unspecified
    ///   after an error.
    public func predict(_ inputs: [Tensor], into outputs: inout [Tensor]) throws {
        try validate(ordered: inputs)
        try run(inputs, into: &outputs)
    }

    /// Runs validated inputs in a checked-out inference state.
    private func run(_ inputs: [Tensor], into outputs: inout [Tensor]) throws {
        let executor = Executor(plan: plan, pool: pool, memory: memory)
        try states.withState { state in
            try executor.run(inputs, state: state, outputs: &outputs)
        }
    }

    /// Runs a model with exactly one input and one output.
    /// - Throws: As ``predict(_:)->[String:Tensor]``, and when the model has several inputs or outputs.
    public func predict(_ input: Tensor) throws -> Tensor {
        guard artifact.inputs.count == 1, artifact.outputs.count == 1 else {
            throw KilnError.invalidArgument(op: "Model.predict", node: nil,
                                            reason: "the model has \(artifact.inputs.count) inputs and \(artifact.outputs.count) outputs; pass them by name")
        }
        return try predict([artifact.inputs[0].name: input])[artifact.outputs[0].name]!
    }

    /// Checks inputs against the declared names, dtypes and shapes, binding symbolic dims.
    func validate(_ inputs: [String: Tensor]) throws -> [Tensor] {
        let expectedNames = artifact.inputs.map(\.name)
        for name in inputs.keys where !expectedNames.contains(name) {
            throw KilnError.invalidArgument(op: "Model.predict", node: nil,
                                            reason: "unknown input '\(name)'; the model's inputs are \(expectedNames)")
        }
        let ordered = try plan.inputs.map { info, _ in
            guard let t = inputs[info.name] else {
                throw KilnError.invalidArgument(op: "Model.predict", node: nil,
                                                reason: "missing input '\(info.name)' (\(info.dtype) \(info.shape)); the model's inputs are \(expectedNames)")
            }
            return t
        }
        try validate(ordered: ordered)
        return ordered
    }

    /// Checks inputs in plan order against the declared dtypes and shapes: fixed dims, and a
    /// symbolic dim equal wherever it appears. Allocates only to describe an error.
    func validate(ordered inputs: [Tensor]) throws {
        guard inputs.count == plan.inputs.count else {
            throw KilnError.invalidArgument(op: "Model.predict", node: nil,
                                            reason: "\(inputs.count) inputs given; the model's inputs are \(artifact.inputs.map(\.name))")
        }
        for (i, (info, _)) in plan.inputs.enumerated() {
            let t = inputs[i]
            guard t.dtype == info.dtype else {
                throw KilnError.unsupportedDType(op: "Model.predict", node: nil, tensor: "input '\(info.name)' (expected \(info.dtype))", dtype: t.dtype)
            }
            func mismatch(_ what: String) -> KilnError {
                let declared = info.shape.map { d -> Int in if case .fixed(let n) = d { return n } else { return -1 } }
                return .shapeMismatch(op: "Model.predict", node: nil, tensor: "input '\(info.name)'\(what)", expected: declared, got: t.shape)
            }
            guard t.rank == info.shape.count else {
                throw mismatch(" [\(info.shape.map(\.description).joined(separator: ", "))]")
            }
            for (axis, d) in info.shape.enumerated() {
                switch d {
                case .fixed(let n) where n != t.shape[axis]:
                    throw mismatch(" [\(info.shape.map(\.description).joined(separator: ", "))]")
                case .symbol(let s):
                    if let bound = firstBinding(of: s, in: inputs), bound != t.shape[axis] {
                        throw mismatch(": symbolic dim \(s) is \(bound) elsewhere")
                    }
                default: break
                }
            }
        }
    }

    /// The size `symbol` takes at its first appearance among the inputs' declared shapes.
    private func firstBinding(of symbol: String, in inputs: [Tensor]) -> Int? {
        for (i, (info, _)) in plan.inputs.enumerated() {
            for (axis, d) in info.shape.enumerated() {
                if case .symbol(let s) = d, s == symbol { return inputs[i].shape[axis] }
            }
        }
        return nil
    }
}

extension Model {
    /// Size of the activation arena planned for inputs of these shapes, once one inference with
    /// such shapes has run; `nil` before that or without memory planning.
    public func arenaBytes(for inputs: [String: Tensor]) -> Int? {
        memoryStatistics(for: inputs)?.arenaBytes
    }

    /// The planned arena size and the total size of all intermediate allocations (what an
    /// inference would allocate without reuse), once one inference with these input shapes has run.
    public func memoryStatistics(for inputs: [String: Tensor]) -> (arenaBytes: Int, totalBytes: Int)? {
        guard let memory else { return nil }
        let signature = plan.inputs.map { inputs[$0.info.name]?.shape ?? [] }
        return memory.pattern(for: signature).map { ($0.arenaBytes, $0.totalBytes) }
    }
}

/// Facts about the linear-algebra backend, for reports and benchmarks.
public enum BLASInfo {
    /// OpenBLAS's kernel set (`Cooperlake`, `SkylakeX`, `Haswell`, …), and whether
    /// `OPENBLAS_CORETYPE` forced it.
    public static var description: String {
        _ = Sgemm.singleThreaded
        let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (forced by OPENBLAS_CORETYPE=\($0))" } ?? ""
        var weaker = ""
        if let core = coreISA, let best = KernelDispatch.cpuSupported.last, core < best {
            weaker = "; weaker than this CPU (\(best.rawValue))"
                + (KernelDispatch.supported.last == best ? ": Kiln's own kernels run the convolutions" : "")
        }
        return "OpenBLAS \(BLASCore.name) kernels\(forced)\(weaker)"
    }

    /// The widest vector ISA of OpenBLAS's kernel set, when the name is known: an OpenBLAS older
    /// than the CPU (Debian 12's 0.3.21 on Sapphire/Emerald Rapids, Zen 4) falls back to `Prescott`.
    static var coreISA: KernelISA? {
        let name = BLASCore.name.lowercased()
        if ["skylakex", "cooperlake", "sapphirerapids"].contains(name) { return .avx512 }
        if ["haswell", "zen", "excavator", "steamroller"].contains(name) { return .avx2 }
        if ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "barcelona", "opteron", "opteron_sse3",
            "athlon", "katmai", "coppermine", "northwood", "sandybridge", "bulldozer", "piledriver", "bobcat"].contains(name) {
            return .baseline
        }
        return nil
    }

    /// Kiln's own kernel variant and the CPU, e.g. `Kiln kernels avx2 on AMD EPYC 7B13`, and when
    /// the program installed no CPU-specific kernels, that only the library's portable table runs.
    public static var kernelDescription: String {
        let isa = KernelDispatch.defaultISA
        let why = isa == .avx2 && KernelDispatch.preferredISA == .avx2 && KernelDispatch.supported.contains(.avx512)
            ? "; avx2 preferred: this CPU runs 512-bit instructions as two halves"
                + (KernelDispatch.table().hasWidePass ? ", avx512 for SiLU/sigmoid passes" : "") : ""
        var portable = ""
        if !KernelDispatch.hasInstalledVariants, let best = KernelDispatch.cpuSupported.last, best > .baseline {
            portable = "; portable kernels only: this program installed no \(best.rawValue) variant (KernelDispatch.install)"
        }
        return "Kiln kernels \(isa.rawValue) on \(KernelDispatch.cpuName) (supported: \(KernelDispatch.supported.map(\.rawValue).joined(separator: ", "))\(why)\(portable))"
    }
}
