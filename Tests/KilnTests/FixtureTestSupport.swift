import XCTest
import Kiln
import KilnTestSupport

/// Asserts that `actual` matches `expected` within `tolerance`, reporting at the caller's line.
func assertClose(_ actual: Tensor, _ expected: Tensor, _ tolerance: Tolerance, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    let r = compare(actual, expected, tolerance)
    XCTAssertTrue(r.passed, "\(message) \(r.message)", file: file, line: line)
}

/// Runs every case of a fixture family and fails once per failing case. Also fails when the family
/// has no cases, so a missing or emptied manifest cannot pass silently.
func runFixtureFamily(_ family: String, threads: [Int] = [1, 2], file: StaticString = #filePath, line: UInt = #line) {
    let cases: [FixtureCase]
    do { cases = try loadFixtures(family: family) } catch {
        XCTFail("cannot load fixtures '\(family)': \(error)", file: file, line: line)
        return
    }
    XCTAssertFalse(cases.isEmpty, "fixture family '\(family)' has no cases", file: file, line: line)
    for t in threads {
        for c in cases {
            for failure in runFixture(c, threads: t) {
                XCTFail("[\(family), threads \(t)] \(failure)", file: file, line: line)
            }
        }
    }
}
