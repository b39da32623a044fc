/// Registers the DataMovement op family.
enum DataMovementOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
    }
}
