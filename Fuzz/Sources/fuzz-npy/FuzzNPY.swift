// .npy bytes -> Tensor (every version, dtype, byte order and Fortran order the reader accepts).
import FuzzSupport
import Kiln

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzLimits.apply()
    guard let data else { return 0 }
    if let t = try? NPY.decode(fuzzData(data, size), source: "fuzz") {
        // Whatever decodes must encode and decode to the same tensor.
        let again = try? NPY.decode(NPY.encode(t), source: "fuzz-reencoded")
        if again != t { fatalError("NPY round trip changed the tensor \(t.shape) \(t.dtype)") }
    }
    return 0
}

@main
enum FuzzNPYMain {
    static func main() { runFuzzer(fuzzNPY) }
}
