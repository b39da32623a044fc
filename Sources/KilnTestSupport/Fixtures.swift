import Foundation
import Kiln

/// The repository's `Fixtures/` directory, found from this source file's location.
public let fixturesDirectory: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent() // KilnTestSupport
    .deletingLastPathComponent() // Sources
    .deletingLastPathComponent() // repository root
    .appendingPathComponent("Fixtures")

/// One kernel fixture: a single ONNX node, its inputs and the reference outputs written by
/// `Fixtures/kernels/gen_<family>.py`.
public struct FixtureCase: Sendable, CustomStringConvertible {
    /// Case name, unique in its family.
    public var name: String
    /// ONNX op type.
    public var op: String
    /// ONNX opset the reference ran at.
    public var opset: Int
    /// Where the expected outputs came from (`onnxruntime`, `torch`, `generator`).
    public var reference: String
    /// Node attributes.
    public var attributes: Attributes
    /// Inputs; `nil` for an omitted optional input.
    public var inputs: [Tensor?]
    /// Expected outputs.
    public var outputs: [Tensor]
    /// Named tolerance.
    public var tolerance: Tolerance

    /// `family/name (op, reference)`.
    public var description: String { "\(name) (\(op), reference \(reference))" }
}

/// Errors reading a fixture manifest.
public struct FixtureError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}

/// Loads every case of `Fixtures/kernels/<family>/manifest.json`.
/// - Throws: ``FixtureError`` for a malformed manifest, ``KilnError`` for a bad `.npy`.
public func loadFixtures(family: String) throws -> [FixtureCase] {
    let dir = fixturesDirectory.appendingPathComponent("kernels").appendingPathComponent(family)
    let data = try Data(contentsOf: dir.appendingPathComponent("manifest.json"))
    guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let cases = root["cases"] as? [[String: Any]] else {
        throw FixtureError(description: "\(family)/manifest.json: no 'cases' array")
    }
    return try cases.map { c in
        guard let name = c["name"] as? String, let op = c["op"] as? String else {
            throw FixtureError(description: "\(family): case without name/op")
        }
        let attrs = try decodeAttributes(c["attributes"] as? [String: Any] ?? [:], op: op, node: name)
        let inputs: [Tensor?] = try (c["inputs"] as? [Any] ?? []).map { item in
            guard let file = item as? String else { return nil }
            return try NPY.read(contentsOf: dir.appendingPathComponent(file))
        }
        let outputs: [Tensor] = try (c["outputs"] as? [String] ?? []).map {
            try NPY.read(contentsOf: dir.appendingPathComponent($0))
        }
        let tolName = c["tolerance"] as? String ?? "exact"
        guard let tol = Tolerance.named(tolName) else {
            throw FixtureError(description: "\(family)/\(name): unknown tolerance \(tolName)")
        }
        return FixtureCase(name: name, op: op, opset: c["opset"] as? Int ?? 17,
                           reference: c["reference"] as? String ?? "?", attributes: attrs,
                           inputs: inputs, outputs: outputs, tolerance: tol)
    }
}

/// Decodes typed attributes (`{"i": 1}`, `{"f": 0.5}`, `{"s": "x"}`, `{"ints": [...]}`, …).
public func decodeAttributes(_ json: [String: Any], op: String, node: String?) throws -> Attributes {
    var values: [String: AttributeValue] = [:]
    for (key, raw) in json {
        guard let typed = raw as? [String: Any], typed.count == 1, let (kind, v) = typed.first else {
            throw FixtureError(description: "\(op) \(node ?? ""): attribute \(key) is not typed")
        }
        switch kind {
        case "i": values[key] = .int((v as! NSNumber).intValue)
        case "f": values[key] = .float((v as! NSNumber).floatValue)
        case "s": values[key] = .string(v as! String)
        case "ints": values[key] = .ints((v as! [NSNumber]).map(\.intValue))
        case "floats": values[key] = .floats((v as! [NSNumber]).map(\.floatValue))
        case "strings": values[key] = .strings(v as! [String])
        default: throw FixtureError(description: "\(op) \(node ?? ""): attribute \(key) has unknown type \(kind)")
        }
    }
    return Attributes(op: op, node: node, values)
}

/// Runs one fixture case through ``OpRegistry/standard`` and compares each output.
/// - Returns: One message per failing output (empty when the case passes).
public func runFixture(_ c: FixtureCase, threads: Int = 1) -> [String] {
    do {
        let op = try OpRegistry.standard.make(c.op, attributes: c.attributes)
        let outs = try op.run(c.inputs, context: ExecutionContext(threads: threads, node: c.name))
        guard outs.count >= c.outputs.count else {
            return ["\(c): produced \(outs.count) outputs, expected \(c.outputs.count)"]
        }
        var failures: [String] = []
        for (i, expected) in c.outputs.enumerated() {
            let r = compare(outs[i], expected, c.tolerance)
            if !r.passed { failures.append("\(c) output \(i): \(r.message)") }
        }
        return failures
    } catch {
        return ["\(c): threw \(error)"]
    }
}
