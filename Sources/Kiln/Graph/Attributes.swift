/// The value of one node attribute, typed as in ONNX (`i`, `f`, `s`, `ints`, `floats`, `strings`, `t`).
public enum AttributeValue: Sendable, Equatable {
    /// `i`: a 64-bit integer.
    case int(Int)
    /// `f`: a float.
    case float(Float)
    /// `s`: a string.
    case string(String)
    /// `ints`: a list of integers.
    case ints([Int])
    /// `floats`: a list of floats.
    case floats([Float])
    /// `strings`: a list of strings.
    case strings([String])
    /// `t`: a tensor (for example `ConstantOfShape`'s `value`).
    case tensor(Tensor)

    /// The ONNX short type name (`i`, `f`, `s`, `ints`, `floats`, `strings`, `t`).
    public var typeName: String {
        switch self {
        case .int: return "i"
        case .float: return "f"
        case .string: return "s"
        case .ints: return "ints"
        case .floats: return "floats"
        case .strings: return "strings"
        case .tensor: return "t"
        }
    }
}

/// The attributes of one node, with typed accessors that throw errors naming the op, the node and
/// the attribute.
///
/// Op decoders read every attribute they understand and then call ``rejectUnknown(_:)`` so that an
/// attribute Kiln would silently ignore is an error instead.
public struct Attributes: Sendable {
    /// Op type, for error messages.
    public let op: String
    /// Node name, for error messages.
    public let node: String?
    /// Raw values by attribute name.
    public var values: [String: AttributeValue]

    /// Creates an attribute set.
    /// - Parameters:
    ///   - op: Op type (`"Conv"`), named in errors.
    ///   - node: Node name, named in errors.
    ///   - values: Attribute values by name.
    public init(op: String, node: String? = nil, _ values: [String: AttributeValue] = [:]) {
        self.op = op
        self.node = node
        self.values = values
    }

    /// An ``KilnError/invalidArgument(op:node:reason:)`` for this op and node.
    public func error(_ reason: String) -> KilnError {
        .invalidArgument(op: op, node: node, reason: reason)
    }

    private func typeError(_ name: String, _ expected: String, _ got: AttributeValue) -> KilnError {
        error("attribute '\(name)' must be of type \(expected), got \(got.typeName)")
    }

    /// Whether the attribute is present.
    public func has(_ name: String) -> Bool { values[name] != nil }

    /// An integer attribute, or `defaultValue` when absent.
    /// - Throws: When present with another type.
    public func int(_ name: String, default defaultValue: Int? = nil) throws -> Int {
        switch values[name] {
        case .int(let v)?: return v
        case let v?: throw typeError(name, "int", v)
        case nil:
            guard let d = defaultValue else { throw error("required attribute '\(name)' is missing") }
            return d
        }
    }

    /// A float attribute (an integer value is accepted), or `defaultValue` when absent.
    /// - Throws: When present with another type, or absent without a default.
    public func float(_ name: String, default defaultValue: Float? = nil) throws -> Float {
        switch values[name] {
        case .float(let v)?: return v
        case .int(let v)?: return Float(v)
        case let v?: throw typeError(name, "float", v)
        case nil:
            guard let d = defaultValue else { throw error("required attribute '\(name)' is missing") }
            return d
        }
    }

    /// A string attribute, or `defaultValue` when absent.
    /// - Throws: When present with another type, or absent without a default.
    public func string(_ name: String, default defaultValue: String? = nil) throws -> String {
        switch values[name] {
        case .string(let v)?: return v
        case let v?: throw typeError(name, "string", v)
        case nil:
            guard let d = defaultValue else { throw error("required attribute '\(name)' is missing") }
            return d
        }
    }

    /// An integer-list attribute, or `defaultValue` when absent (`nil` default: returns `nil`).
    /// - Throws: When present with another type.
    public func ints(_ name: String) throws -> [Int]? {
        switch values[name] {
        case .ints(let v)?: return v
        case .int(let v)?: return [v]
        case let v?: throw typeError(name, "ints", v)
        case nil: return nil
        }
    }

    /// A float-list attribute, or `nil` when absent.
    /// - Throws: When present with another type.
    public func floats(_ name: String) throws -> [Float]? {
        switch values[name] {
        case .floats(let v)?: return v
        case .ints(let v)?: return v.map(Float.init)
        case .float(let v)?: return [v]
        case let v?: throw typeError(name, "floats", v)
        case nil: return nil
        }
    }

    /// A string-list attribute, or `nil` when absent.
    /// - Throws: When present with another type.
    public func strings(_ name: String) throws -> [String]? {
        switch values[name] {
        case .strings(let v)?: return v
        case let v?: throw typeError(name, "strings", v)
        case nil: return nil
        }
    }

    /// A tensor attribute, or `nil` when absent.
    /// - Throws: When present with another type.
    public func tensor(_ name: String) throws -> Tensor? {
        switch values[name] {
        case .tensor(let v)?: return v
        case let v?: throw typeError(name, "t", v)
        case nil: return nil
        }
    }

    /// Throws when an attribute other than `known` is present.
    /// - Parameter known: The attribute names the op understands.
    /// - Throws: ``KilnError/unsupportedOp(name:node:reason:)`` listing the unknown names.
    public func rejectUnknown(_ known: Set<String>) throws {
        let unknown = values.keys.filter { !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw KilnError.unsupportedOp(name: op, node: node, reason: "unsupported attribute(s) \(unknown.joined(separator: ", "))")
        }
    }
}
