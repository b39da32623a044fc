/// ONNX `Reshape` (opset 5–21): any dtype, zero-copy (the output shares the input's storage).
///
/// `shape` (input 1, `int64`): a `0` copies the input dimension at that index unless
/// `allowzero = 1` (then it is a real zero); one `-1` is inferred from the element count.
struct Reshape: Operator {
    static let opType = "Reshape"
    let allowZero: Bool

    init(attributes: Attributes) throws {
        allowZero = try attributes.int("allowzero", default: 0) != 0
        try attributes.rejectUnknown(["allowzero"])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try input(inputs, 0, "data", context: context)
        let spec = try indexVector(try input(inputs, 1, "shape", context: context), "shape", context: context)
        let shape = try Reshape.resolve(spec, input: data.shape, allowZero: allowZero, op: Self.opType, node: context.node)
        return [try data.reshaped(shape)]
    }

    /// The output shape of `Reshape(input, spec)`.
    /// - Throws: ``KilnError`` for two `-1`s, a value below `-1`, a `0` past the input rank, a `0`
    ///   together with `-1` under `allowzero`, or an element count that does not match.
    static func resolve(_ spec: [Int], input: [Int], allowZero: Bool, op: String, node: String?) throws -> [Int] {
        func fail(_ reason: String) -> KilnError {
            .invalidArgument(op: op, node: node, reason: "cannot reshape \(input) to \(spec): \(reason)")
        }
        var out = spec
        var inferred: Int? = nil
        for (i, d) in spec.enumerated() {
            if d == -1 {
                guard inferred == nil else { throw fail("more than one -1") }
                inferred = i
            } else if d < -1 {
                throw fail("dimension \(d) is negative")
            } else if d == 0 && !allowZero {
                guard i < input.count else { throw fail("0 at index \(i) copies a dimension the input (rank \(input.count)) does not have") }
                out[i] = input[i]
            }
        }
        if allowZero && inferred != nil && spec.contains(0) { throw fail("allowzero=1 forbids 0 together with -1") }
        let count = try Shape.elementCount(input, what: op)
        if let k = inferred {
            var known = 1
            for (i, d) in out.enumerated() where i != k {
                let (p, o) = known.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("shape overflows") }
                known = p
            }
            guard known != 0, count % known == 0 else {
                throw fail("\(count) elements cannot fill the known dimensions (product \(known))")
            }
            out[k] = count / known
        }
        let n = try Shape.elementCount(out, what: op)
        guard n == count else { throw fail("\(count) elements, the target shape has \(n)") }
        return out
    }
}
