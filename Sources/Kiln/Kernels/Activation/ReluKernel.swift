/// `y = max(x, 0)` over `count` floats, 8 lanes at a time.
@inline(__always)
func relu_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let zero = SIMD8<Float>(repeating: 0)
    while i &+ 8 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: zero, where: v .< zero), as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        let v = x[i]
        y[i] = v < 0 ? 0 : v
        i &+= 1
    }
}

/// `Relu` as a `UnaryOpF32` for `unaryMap_f32` (same arithmetic as ``relu_f32(_:_:count:)``).
struct ReluF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { x < 0 ? 0 : x }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        x.replacing(with: SIMD8<Float>(repeating: 0), where: x .< SIMD8<Float>(repeating: 0))
    }
}
