import XCTest
import Kiln
import KilnTestSupport

/// Activations against PyTorch (`Fixtures/kernels/gen_activation.py`).
final class ActivationTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("activation")
    }
}
