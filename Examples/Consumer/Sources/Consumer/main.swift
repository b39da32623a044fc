// Runs one 3×3 convolution through Kiln's public API and prints the result.
import Kiln
#if canImport(Glibc)
import Glibc
#endif

let x = try Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
let w = try Tensor(shape: [1, 1, 3, 3], scalars: [Float](repeating: 1, count: 9))
let conv = try OpRegistry.standard.make("Conv", attributes: Attributes(op: "Conv", [
    "pads": .ints([1, 1, 1, 1]),
]))
let y = try conv.run([x, w, nil], context: ExecutionContext(threads: 1))[0]
// Each output is the sum of the 3×3 neighbourhood (zero-padded) of the input.
let expected: [Float] = [12, 21, 16, 27, 45, 33, 24, 39, 28]
let got = try y.scalars(as: Float.self)
print("Conv output \(y.shape): \(got)")
guard got == expected else {
    print("unexpected result, expected \(expected)")
    exit(1)
}
print("ok")
