/// The outcome of running an artifact's stored self-test (see ``Model/verify()``).
public struct SelfTestReport: Sendable, CustomStringConvertible {
    /// One graph output's comparison.
    public struct Output: Sendable {
        /// Output name.
        public var name: String
        /// Largest `|kiln − reference|`.
        public var maxAbsError: Float
        /// Largest `|reference|`, for scale.
        public var maxAbsReference: Float
        /// Elements outside `abs + rel·|reference|`.
        public var failures: Int
        /// Whether every element is within tolerance (and the shapes agree).
        public var passed: Bool
    }

    /// The framework that produced the reference outputs (`torch`, `onnxruntime`).
    public var reference: String
    /// Absolute tolerance used.
    public var abs: Float
    /// Relative tolerance used.
    public var rel: Float
    /// Per-output results.
    public var outputs: [Output]

    /// Whether every output passed.
    public var passed: Bool { outputs.allSatisfy(\.passed) }
    /// The largest absolute error over all outputs.
    public var maxAbsError: Float { outputs.map(\.maxAbsError).max() ?? 0 }

    /// One line per output.
    public var description: String {
        outputs.map { o in
            "\(o.passed ? "PASS" : "FAIL") \(o.name): max |kiln - \(reference)| = \(o.maxAbsError) (max |ref| \(o.maxAbsReference), tolerance abs \(abs) + rel \(rel), \(o.failures) elements outside)"
        }.joined(separator: "\n")
    }
}

extension Model {
    /// Runs the stored self-test input and compares every output with the stored reference.
    /// - Returns: The report; check ``SelfTestReport/passed``.
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` when the artifact has no self-test,
    ///   or any error ``predict(_:)->[String:Tensor]`` throws.
    public func verify() throws -> SelfTestReport {
        guard let spec = artifact.selfTest else {
            throw KilnError.invalidArgument(op: "Model.verify", node: nil, reason: "the artifact has no self-test (exported with --no-selftest?)")
        }
        var feeds: [String: Tensor] = [:]
        for (input, tensorName) in spec.inputs {
            // Stored tensors were validated at load; a float16 self-test input is widened like weights.
            let t = artifact.tensors[tensorName]!
            feeds[input] = try t.dtype == .float16 ? t.converted(to: .float32) : t
        }
        let results = try predict(feeds)
        var outputs: [SelfTestReport.Output] = []
        for (name, tensorName) in spec.outputs.sorted(by: { $0.key < $1.key }) {
            let expected = try artifact.tensors[tensorName]!.converted(to: .float32)
            guard let got = try results[name]?.converted(to: .float32), got.shape == expected.shape else {
                outputs.append(.init(name: name, maxAbsError: .infinity, maxAbsReference: 0, failures: expected.count, passed: false))
                continue
            }
            let a = try got.scalars(as: Float.self), e = try expected.scalars(as: Float.self)
            var maxErr: Float = 0, maxRef: Float = 0, failures = 0
            for i in 0..<a.count {
                let d = Swift.abs(a[i] - e[i])
                if !(d <= spec.abs + spec.rel * Swift.abs(e[i])) { failures += 1 }
                maxErr = Swift.max(maxErr, d.isNaN ? .infinity : d)
                maxRef = Swift.max(maxRef, Swift.abs(e[i]))
            }
            outputs.append(.init(name: name, maxAbsError: maxErr, maxAbsReference: maxRef, failures: failures, passed: failures == 0))
        }
        return SelfTestReport(reference: spec.reference, abs: spec.abs, rel: spec.rel, outputs: outputs)
    }
}
