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
