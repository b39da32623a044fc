/// Registers the Reduction op family.
enum ReductionOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
    }
}
