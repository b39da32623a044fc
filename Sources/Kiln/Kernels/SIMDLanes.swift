import CKilnSIMD

extension SIMD16 where Scalar == Float {
    /// Lanes 0, 2, …, 14 as one shuffle (`SIMD.evenHalf` is an element loop; see `kiln_simd.h`).
    @inline(__always) var evenLanes: SIMD8<Float> { kiln_even8(lowHalf, highHalf) }
    /// Lanes 1, 3, …, 15 as one shuffle.
    @inline(__always) var oddLanes: SIMD8<Float> { kiln_odd8(lowHalf, highHalf) }
}
