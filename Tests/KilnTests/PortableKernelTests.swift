import XCTest
@testable import Kiln
import KilnKernels
import KilnNativeKernels
import KilnTestSupport

/// The `Kiln` library on its own: without CPU-specific kernels from the program, it runs its
/// portable table (compiled with no CPU target and no flags), and ``KernelDispatch/install(_:)``
/// switches what models loaded afterwards use.
final class PortableKernelTests: XCTestCase {
    /// The test binary links KilnNativeKernels: the dispatch finds it through the weak hook, so every
    /// variant the CPU runs is available.
    func testLinkedNativeVariantsAreFound() {
        XCTAssertTrue(KernelDispatch.hasInstalledVariants)
        XCTAssertEqual(KernelDispatch.supported, KernelDispatch.cpuSupported)
        XCTAssertFalse(BLASInfo.kernelDescription.contains("portable kernels only"))
    }

    /// A small CNN (3×3 convolution, depthwise 3×3, 1×1 with a residual `Add`, max pool, global
    /// pool) with no variants installed runs the library's portable table, and its outputs equal the
    /// program's baseline variant (the same 4-lane bodies, built with `-O`): tolerance `.elementwise`
    /// (the arithmetic is the same; only the compiler's optimization level differs). Then
    /// `install` brings the variants back.
    func testPortableTableWithoutInstalledVariants() throws {
        var g = SeededGenerator(seed: 131)
        func tensor(_ shape: [Int], scale: Float = 0.3) -> Tensor {
            try! Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in (Float(g.next() >> 40) / Float(1 << 24) * 2 - 1) * scale })
        }
        func node(_ name: String, _ op: String, _ ins: [String], _ out: String, _ attrs: [String: AttributeValue] = [:]) -> NodeDef {
            NodeDef(name: name, op: op, inputs: ins, outputs: [out], attributes: Attributes(op: op, node: name, attrs))
        }
        let c = 8, e = 16
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(c), .fixed(13), .fixed(12)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(e), .fixed(1), .fixed(1)])]
        w.tensors = [("w0", tensor([e, c, 3, 3])), ("b0", tensor([e])),
                     ("w1", tensor([e, 1, 3, 3], scale: 0.5)), ("b1", tensor([e])),
                     ("w2", tensor([e, e, 1, 1])), ("b2", tensor([e]))]
        w.nodes = [
            node("conv", "Conv", ["x", "w0", "b0"], "a0", ["pads": .ints([1, 1, 1, 1])]), node("relu", "Relu", ["a0"], "a"),
            node("dw", "Conv", ["a", "w1", "b1"], "d", ["group": .int(e), "pads": .ints([1, 1, 1, 1])]),
            node("pw", "Conv", ["d", "w2", "b2"], "p"), node("residual", "Add", ["p", "a"], "r"),
            node("maxpool", "MaxPool", ["r"], "m", ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]),
            node("pool", "GlobalAveragePool", ["m"], "y"),
        ]
        let artifact = try Artifact(bytes: w.encode())
        let input = tensor([2, c, 13, 12], scale: 1)
        let expected = try Model(artifact: artifact, options: Model.Options(threads: 2, isa: .baseline)).predict(["x": input])

        KernelDispatch.install(KernelVariants())
        defer { KernelDispatch.install(nativeKernelVariants) }
        XCTAssertFalse(KernelDispatch.hasInstalledVariants)
        XCTAssertEqual(KernelDispatch.supported, [.baseline])
        XCTAssertEqual(KernelDispatch.defaultISA, .baseline)
        if KernelDispatch.cpuSupported.count > 1 {
            XCTAssertTrue(BLASInfo.kernelDescription.contains("portable kernels only"), BLASInfo.kernelDescription)
        }
        // Asking for a variant the program did not install falls back to the portable table.
        XCTAssertEqual(KernelDispatch.table(.avx512).isa, .baseline)
        for threads in [1, 2] {
            let got = try Model(artifact: artifact, options: Model.Options(threads: threads)).predict(["x": input])
            assertClose(try XCTUnwrap(got["y"]), try XCTUnwrap(expected["y"]), .elementwise, "portable, \(threads) threads")
        }

        KernelDispatch.install(nativeKernelVariants)
        XCTAssertEqual(KernelDispatch.supported, KernelDispatch.cpuSupported)
    }
}
