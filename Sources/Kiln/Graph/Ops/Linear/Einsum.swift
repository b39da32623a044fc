/// ONNX `Einsum` (opset 12), float32, with one or two operands: transposes (`ij->ji`), sums over
/// axes (`ij->i`, `ij->`), matrix and batched products (`ij,jk->ik`, `bhid,bhjd->bhij`), outer
/// products (`i,j->ij`) and inner ones (`i,i->`). The equation may omit `->` (the output is then
/// the letters used once, alphabetically). Not supported (`unsupportedOp`): ellipses (`...`), a
/// letter repeated within one operand (diagonals), more than two operands.
///
/// Two operands run as one GEMM per batch: each operand is rearranged (and any letter only it has
/// and the output lacks summed out) into `[batch, free, contracted]`, the GEMMs give
/// `[batch, left, right]`, which is rearranged into the output's letter order.
struct Einsum: Operator {
    static let opType = "Einsum"

    let operands: [[Character]]
    let output: [Character]

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["equation"])
        let equation = try attributes.string("equation").filter { !$0.isWhitespace }
        guard !equation.contains(".") else {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node, reason: "ellipsis ('...') in equation '\(equation)' is not supported")
        }
        let sides = equation.components(separatedBy: "->")
        guard sides.count <= 2, sides[0].allSatisfy({ $0.isLetter && $0.isASCII || $0 == "," }),
              sides.count == 1 || sides[1].allSatisfy({ $0.isLetter && $0.isASCII }) else {
            throw attributes.error("equation '\(equation)' must be letters, commas and at most one '->'")
        }
        operands = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(Array.init)
        guard (1...2).contains(operands.count) else {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node, reason: "\(operands.count) operands in '\(equation)'; only 1 or 2 are supported")
        }
        for letters in operands where Set(letters).count != letters.count {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node,
                                          reason: "operand '\(String(letters))' repeats a letter (a diagonal), which is not supported")
        }
        let all = operands.flatMap { $0 }
        if sides.count == 2 {
            output = Array(sides[1])
            guard Set(output).count == output.count, output.allSatisfy(all.contains) else {
                throw attributes.error("output '\(sides[1])' must use distinct letters that appear in the inputs")
            }
        } else {
            output = Set(all).filter { c in all.filter { $0 == c }.count == 1 }.sorted()
        }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == operands.count else {
            throw failure("equation has \(operands.count) operands, got \(inputs.count) inputs", context: context)
        }
        var sizes: [Character: Int] = [:]
        var tensors: [Tensor] = []
        for (k, letters) in operands.enumerated() {
            let t = try input(inputs, k, "Inputs[\(k)]", context: context)
            try require(t, .float32, "Inputs[\(k)]", context: context)
            guard t.rank == letters.count else {
                throw failure("operand \(k) '\(String(letters))' needs rank \(letters.count), got shape \(t.shape)", context: context)
            }
            for (c, d) in zip(letters, t.shape) {
                if let s = sizes[c], s != d { throw failure("letter '\(c)' is \(s) in one place and \(d) in another", context: context) }
                sizes[c] = d
            }
            tensors.append(t)
        }
        let dims = { (letters: [Character]) in letters.map { sizes[$0]! } }
        if operands.count == 1 {
            let y = einsumRearrange(tensors[0], from: operands[0], to: output, sizes: sizes)
            return [try Tensor(shape: dims(output), scalars: y)]
        }
        let (a, b) = (operands[0], operands[1])
        let batch = output.filter { a.contains($0) && b.contains($0) }
        let contracted = a.filter { b.contains($0) && !output.contains($0) }
        let left = output.filter { a.contains($0) && !b.contains($0) }
        let right = output.filter { b.contains($0) && !a.contains($0) }
        let count = { (letters: [Character]) in letters.reduce(1) { $0 * sizes[$1]! } }
        let (nb, m, n, k) = (count(batch), count(left), count(right), count(contracted))
        try Sgemm.checkDimensions(m, n, k, op: Self.opType, node: context.node)
        let lhs = einsumRearrange(tensors[0], from: a, to: batch + left + contracted, sizes: sizes)
        let rhs = einsumRearrange(tensors[1], from: b, to: batch + contracted + right, sizes: sizes)
        var product = try Tensor(zeros: dims(batch + left + right))
        let c = product.mutablePointer(Float.self)
        lhs.withUnsafeBufferPointer { pa in
            rhs.withUnsafeBufferPointer { pb in
                guard let pa = pa.baseAddress, let pb = pb.baseAddress else { return }
                for i in 0..<nb {
                    Sgemm.run(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: pa + i * m * k, lda: max(k, 1),
                              b: pb + i * k * n, ldb: max(n, 1), beta: 0, c: c + i * m * n, ldc: max(n, 1), context: context)
                }
            }
        }
        if batch + left + right == output { return [product] }
        let y = einsumRearrange(product, from: batch + left + right, to: output, sizes: sizes)
        return [try Tensor(shape: dims(output), scalars: y)]
    }
}

/// `t` (float32, axes named by `from`) with its axes in the order `to`, summed over the letters
/// of `from` that `to` lacks. Every letter of `to` must be in `from`.
func einsumRearrange(_ t: Tensor, from: [Character], to: [Character], sizes: [Character: Int]) -> [Float] {
    var outStrides: [Character: Int] = [:]
    var stride = 1
    for c in to.reversed() {
        outStrides[c] = stride
        stride *= sizes[c]!
    }
    var y = [Float](repeating: 0, count: stride)
    let shape = t.shape
    let step = from.map { outStrides[$0] ?? 0 }
    guard t.count > 0 else { return y }
    let x = t.pointer(Float.self)
    // An odometer over the input in memory order; `offset` follows it in the output.
    var index = [Int](repeating: 0, count: shape.count)
    var offset = 0
    for e in 0..<t.count {
        y[offset] += x[e]
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            offset += step[axis]
            if index[axis] < shape[axis] { break }
            offset -= step[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
    withExtendedLifetime(t) {}
    return y
}
