/// Registers the Conv op family.
enum ConvOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(Conv.self)
        registry.register(ConvTranspose.self)
    }
}

extension Operator {
    /// The `(X, W, B?)` inputs of Conv and ConvTranspose, all float32.
    /// - Parameter maxInputs: 4 for a Conv with a fused residual (see `Optimizer.fuseResidualAdd`).
    /// - Throws: ``KilnError`` for a wrong input count, a missing X or W, or another dtype.
    func convInputs(_ inputs: [Tensor?], maxInputs: Int = 3, context: ExecutionContext) throws -> (x: Tensor, w: Tensor, b: Tensor?) {
        guard inputs.count <= maxInputs else {
            throw failure("expects 2 or 3 inputs (X, W, B), got \(inputs.count)", context: context)
        }
        let x = try input(inputs, 0, "X", context: context)
        let w = try input(inputs, 1, "W", context: context)
        let b = optionalInput(inputs, 2)
        try require(x, .float32, "X", context: context)
        try require(w, .float32, "W", context: context)
        if let b { try require(b, .float32, "B", context: context) }
        return (x, w, b)
    }
}
