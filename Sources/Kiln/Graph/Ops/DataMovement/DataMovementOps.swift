/// Registers the DataMovement op family.
enum DataMovementOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(Reshape.self)
        registry.register(Flatten.self)
        registry.register(Squeeze.self)
        registry.register(Unsqueeze.self)
        registry.register(Transpose.self)
        registry.register(Concat.self)
        registry.register(Split.self)
        registry.register(Slice.self)
        registry.register(Gather.self)
        registry.register(ScatterND.self)
        registry.register(GridSample.self)
        registry.register(Pad.self)
        registry.register(Expand.self)
        registry.register(Tile.self)
        registry.register(ShapeOp.self)
        registry.register(ConstantOfShape.self)
        registry.register(RangeOp.self)
        registry.register(Resize.self)
        registry.register(Upsample.self)
        registry.register(DepthToSpace.self)
        registry.register(SpaceToDepth.self)
    }
}
