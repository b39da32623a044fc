/// Registers the Linear op family.
enum LinearOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(Gemm.self)
        registry.register(MatMul.self)
        registry.register(Einsum.self)
    }
}
