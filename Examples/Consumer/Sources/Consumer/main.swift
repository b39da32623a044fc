// Runs one 3×3 convolution through Kiln's public API, first with the library's portable kernels,
// then with the application's own AVX2/AVX-512 kernels installed, and prints both results.
import ConsumerKernelsAVX2
import ConsumerKernelsAVX512
import Kiln
import KilnKernels
#if canImport(Glibc)
import Glibc
#endif

func convolve() throws -> [Float] {
    let x = try Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
    let w = try Tensor(shape: [1, 1, 3, 3], scalars: [Float](repeating: 1, count: 9))
    let conv = try OpRegistry.standard.make("Conv", attributes: Attributes(op: "Conv", [
        "pads": .ints([1, 1, 1, 1]),
    ]))
    let y = try conv.run([x, w, nil], context: ExecutionContext(threads: 1))[0]
    return try y.scalars(as: Float.self)
}

// Each output is the sum of the 3×3 neighbourhood (zero-padded) of the input.
let expected: [Float] = [12, 21, 16, 27, 45, 33, 24, 39, 28]
for step in ["library only", "application kernels installed"] {
    if step != "library only" {
        // Kiln builds each table only on a CPU that runs it (CPUID), so this is safe anywhere.
        KernelDispatch.install(KernelVariants(avx2: { avx2Kernels(widePass: $0) }, avx512: { avx512Kernels() }))
    }
    print("\(step): \(BLASInfo.kernelDescription)")
    let got = try convolve()
    print("Conv output: \(got)")
    guard got == expected else {
        print("unexpected result, expected \(expected)")
        exit(1)
    }
}
print("ok")
