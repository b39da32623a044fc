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

/// Asserts that `body` throws a ``KilnError`` (not a trap, not another error type) that `check`
/// accepts, and returns it.
@discardableResult
func assertKilnError<T>(_ what: String, file: StaticString = #filePath, line: UInt = #line,
                        _ body: () throws -> T, check: (KilnError) -> Bool = { _ in true }) -> KilnError? {
    do {
        _ = try body()
        XCTFail("\(what): expected a KilnError, nothing was thrown", file: file, line: line)
    } catch let e as KilnError {
        XCTAssertTrue(check(e), "\(what): unexpected error \(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("\(what): expected a KilnError, got \(error)", file: file, line: line)
    }
    return nil
}

/// Decodes `op` with `attrs` through the registry (node name "test") and runs it on `inputs`.
func runNode(_ op: String, _ attrs: [String: AttributeValue] = [:], _ inputs: [Tensor?], threads: Int = 1) throws -> [Tensor] {
    let o = try OpRegistry.standard.make(op, attributes: Attributes(op: op, node: "test", attrs))
    return try o.run(inputs, context: ExecutionContext(threads: threads, node: "test"))
}

/// An int64 vector (shape inputs, axes, indices).
func i64(_ v: [Int]) -> Tensor { try! Tensor(shape: [v.count], scalars: v.map { Int64($0) }) }
