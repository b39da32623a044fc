/// Registers the Elementwise op family.
enum ElementwiseOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
    }
}
