/// ONNX `Einsum` (opset 12), float32, with one or two operands: transposes (`ij->ji`), sums over
/// axes (`ij->i`, `ij->`), matrix and batched products (`ij,jk->ik`, `bhid,bhjd->bhij`), outer
/// products (`i,j->ij`) and inner ones (`i,i->`), with an ellipsis (`...ij,...jk->...ik`) standing
/// for leading dims that broadcast (aligned from the right; a size-1 or missing dim against size n
/// broadcasts). The equation may omit `->`: the output is then the ellipsis dims followed by the
/// letters used once, alphabetically. Not supported (`unsupportedOp`): a letter repeated within one
/// operand (diagonals), more than two operands.
///
/// Two operands run as one GEMM per batch: each operand is rearranged (and any letter only it has
/// and the output lacks summed out) into `[batch, free, contracted]`, the GEMMs give
/// `[batch, left, right]`, which is rearranged into the output's letter order.
struct Einsum: Operator {
    static let opType = "Einsum"

    /// Each operand's subscripts; `.` marks where its ellipsis dims go.
    let operands: [[Character]]
    /// The output's subscripts (`.` for the ellipsis); `nil` when the equation has no `->`.
    let explicitOutput: [Character]?

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["equation"])
        let equation = try attributes.string("equation").filter { !$0.isWhitespace }
        guard !equation.replacingOccurrences(of: "...", with: "").contains(".") else {
            throw attributes.error("equation '\(equation)' has a '.' outside an ellipsis '...'")
        }
        let sides = equation.replacingOccurrences(of: "...", with: ".").components(separatedBy: "->")
        func valid(_ term: Substring, commas: Bool) -> Bool {
            term.allSatisfy { $0.isLetter && $0.isASCII || $0 == "." || (commas && $0 == ",") }
        }
        guard sides.count <= 2, valid(Substring(sides[0]), commas: true), sides.count == 1 || valid(Substring(sides[1]), commas: false) else {
            throw attributes.error("equation '\(equation)' must be letters, '...', commas and at most one '->'")
        }
        operands = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(Array.init)
        guard (1...2).contains(operands.count) else {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node, reason: "\(operands.count) operands in '\(equation)'; only 1 or 2 are supported")
        }
        for term in operands + (sides.count == 2 ? [Array(sides[1])] : []) where term.filter({ $0 == "." }).count > 1 {
            throw attributes.error("'\(String(term))' in '\(equation)' has more than one ellipsis")
        }
        for letters in operands where Set(letters).count != letters.count {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node,
                                          reason: "operand '\(String(letters))' repeats a letter (a diagonal), which is not supported")
        }
        if sides.count == 2 {
            let out = Array(sides[1]), all = operands.flatMap { $0 }
            guard Set(out).count == out.count, out.allSatisfy(all.contains) else {
                throw attributes.error("output '\(sides[1])' must use distinct letters (and '...') that appear in the inputs")
            }
            explicitOutput = out
        } else {
            explicitOutput = nil
        }
    }

    /// Operand `k`'s subscripts with its ellipsis replaced by one placeholder per dim it covers,
    /// aligned from the right over `width` ellipsis dims (the widest operand's).
    private func expand(_ term: [Character], rank: Int, width: Int) -> [Character] {
        guard let at = term.firstIndex(of: ".") else { return term }
        let n = rank - (term.count - 1)
        let dims = (width - n ..< width).map { Character(UnicodeScalar(0x2460 + $0)!) }  // ①②③…: never a letter
        return Array(term[..<at]) + dims + Array(term[(at + 1)...])
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == operands.count else {
            throw failure("equation has \(operands.count) operands, got \(inputs.count) inputs", context: context)
        }
        var tensors: [Tensor] = []
        var width = 0
        for (k, term) in operands.enumerated() {
            let t = try input(inputs, k, "Inputs[\(k)]", context: context)
            try require(t, .float32, "Inputs[\(k)]", context: context)
            let explicit = term.filter { $0 != "." }.count
            guard term.contains(".") ? t.rank >= explicit : t.rank == explicit else {
                throw failure("operand \(k) '\(String(term).replacingOccurrences(of: ".", with: "..."))' does not fit shape \(t.shape)", context: context)
            }
            width = max(width, t.rank - explicit)
            tensors.append(t)
        }
        var letters = zip(operands, tensors).map { expand($0, rank: $1.rank, width: width) }
        let ellipsis = (0..<width).map { Character(UnicodeScalar(0x2460 + $0)!) }
        // Broadcasting: an ellipsis dim of size 1 against a larger one is dropped from its operand.
        var sizes: [Character: Int] = [:]
        for (k, t) in tensors.enumerated() {
            for (c, d) in zip(letters[k], t.shape) where sizes[c] == nil || sizes[c] == 1 { sizes[c] = d }
        }
        for (k, t) in tensors.enumerated() {
            var keep: [Int] = []
            for (axis, (c, d)) in zip(letters[k], t.shape).enumerated() {
                if d == sizes[c] { keep.append(axis); continue }
                guard d == 1, ellipsis.contains(c) else {
                    throw failure("dim '\(ellipsis.contains(c) ? "..." : String(c))' is \(d) in operand \(k) but \(sizes[c]!) elsewhere", context: context)
                }
            }
            if keep.count < t.rank {
                tensors[k] = try t.reshaped(keep.map { t.shape[$0] })
                letters[k] = keep.map { letters[k][$0] }
            }
        }
        let all = letters.flatMap { $0 }
        let output: [Character]
        if let explicitOutput {
            output = explicitOutput.flatMap { $0 == "." ? ellipsis : [$0] }
        } else {
            output = ellipsis + Set(all).filter { c in !ellipsis.contains(c) && all.filter { $0 == c }.count == 1 }.sorted()
        }
        // An output ellipsis dim that every operand broadcast away has size 1.
        for c in output where sizes[c] == nil { sizes[c] = 1 }
        let dims = { (letters: [Character]) in letters.map { sizes[$0]! } }
        if operands.count == 1 {
            let y = einsumRearrange(tensors[0], from: letters[0], to: output, sizes: sizes)
            return [try Tensor(shape: dims(output), scalars: y)]
        }
        let (a, b) = (letters[0], letters[1])
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
