import Foundation
import XCTest
import Kiln
import KilnTestSupport

/// docs/ops.md and the op registry must list the same ops (style guide §12).
final class OpsDocumentationTests: XCTestCase {
    func testOpsTableMatchesRegistry() throws {
        let url = fixturesDirectory.deletingLastPathComponent().appendingPathComponent("docs/ops.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        // The summary table: rows of the form "| `OpType` | family | ..." between the markers.
        guard let start = text.range(of: "<!-- op-table-start -->"), let end = text.range(of: "<!-- op-table-end -->") else {
            return XCTFail("docs/ops.md has no op table markers")
        }
        var documented = Set<String>()
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n") where line.hasPrefix("| `") {
            let name = line.dropFirst(3).prefix { $0 != "`" }
            documented.insert(String(name))
        }
        let registered = Set(OpRegistry.standard.opTypes)
        XCTAssertEqual(documented.subtracting(registered).sorted(), [], "documented but not registered")
        XCTAssertEqual(registered.subtracting(documented).sorted(), [], "registered but not documented in docs/ops.md")
    }
}
