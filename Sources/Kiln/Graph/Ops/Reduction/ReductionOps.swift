/// Registers the Reduction op family.
enum ReductionOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(ReduceSum.self)
        registry.register(ReduceMean.self)
        registry.register(ReduceMax.self)
        registry.register(ReduceMin.self)
        registry.register(ReduceProd.self)
        registry.register(ReduceL1.self)
        registry.register(ReduceL2.self)
        registry.register(ReduceSumSquare.self)
        registry.register(ReduceLogSum.self)
        registry.register(ArgMax.self)
        registry.register(ArgMin.self)
        registry.register(TopK.self)
    }
}
