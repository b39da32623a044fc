import XCTest
import Kiln
import KilnTestSupport

/// Elementwise ops against PyTorch / ONNX Runtime (`Fixtures/kernels/gen_elementwise.py`).
final class ElementwiseTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("elementwise")
    }
}
