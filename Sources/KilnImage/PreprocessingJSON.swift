import Foundation

extension Preprocessing {
    /// Parses the preprocessing section of a Kiln artifact (docs/format.md §4.4).
    /// - Parameter json: A JSON object as text.
    /// - Throws: ``KilnImageError/invalidPreprocessing(step:key:reason:)`` for malformed JSON, an
    ///   unknown key or op, a value of the wrong type or range, or steps in an impossible order;
    ///   the error names the step index and key.
    public init(json: String) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        } catch {
            throw KilnImageError.invalidPreprocessing(step: nil, key: nil, reason: "not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any] else {
            throw KilnImageError.invalidPreprocessing(step: nil, key: nil, reason: "must be a JSON object")
        }
        try self.init(jsonObject: root)
    }

    init(jsonObject root: [String: Any]) throws {
        let p = JSONReader(step: nil)
        try p.rejectUnknown(root, allowed: ["input", "color", "exif_transpose", "alpha", "background", "steps"])
        let input = try root["input"].map { try p.string($0, "input") } ?? "input"
        let colorName = try root["color"].map { try p.string($0, "color") } ?? "RGB"
        guard let color = ColorOrder(rawValue: colorName) else {
            throw p.fail("color", "must be \"RGB\" or \"BGR\", got \"\(colorName)\"")
        }
        let exif = try root["exif_transpose"].map { try p.bool($0, "exif_transpose") } ?? false
        let alphaName = try root["alpha"].map { try p.string($0, "alpha") } ?? "drop"
        var background = RGB8.white
        if let b = root["background"] {
            let v = try p.ints(b, "background")
            guard v.count == 3, v.allSatisfy({ (0...255).contains($0) }) else {
                throw p.fail("background", "must be three integers in 0...255, got \(v)")
            }
            background = RGB8(r: UInt8(v[0]), g: UInt8(v[1]), b: UInt8(v[2]))
        }
        let alpha: AlphaHandling
        switch alphaName {
        case "drop": alpha = .drop
        case "composite": alpha = .composite(background: background)
        default: throw p.fail("alpha", "must be \"drop\" or \"composite\", got \"\(alphaName)\"")
        }
        guard let rawSteps = root["steps"] else { throw p.fail("steps", "is missing") }
        guard let list = rawSteps as? [Any] else { throw p.fail("steps", "must be an array") }
        var steps: [Step] = []
        for (i, raw) in list.enumerated() {
            let r = JSONReader(step: i)
            guard let s = raw as? [String: Any] else { throw r.fail(nil, "must be an object") }
            guard let opValue = s["op"] else { throw r.fail("op", "is missing") }
            let op = try r.string(opValue, "op")
            do {
                switch op {
                case "resize":
                    try r.rejectUnknown(s, allowed: ["op", "size", "interpolation", "antialias", "max_size"])
                    guard let sizeValue = s["size"] else { throw r.fail("size", "is missing") }
                    let sizes = try r.intOrInts(sizeValue, "size")
                    let size: Resize.Size
                    switch sizes.count {
                    case 1: size = .shorterSide(sizes[0])
                    case 2: size = .exact(height: sizes[0], width: sizes[1])
                    default: throw r.fail("size", "must be an integer, [size] or [height, width]")
                    }
                    let name = try s["interpolation"].map { try r.string($0, "interpolation") } ?? "bilinear"
                    guard let interpolation = Interpolation(rawValue: name) else {
                        throw r.fail("interpolation", "must be one of \(Interpolation.allCases.map(\.rawValue)), got \"\(name)\"")
                    }
                    let antialias = try s["antialias"].map { try r.bool($0, "antialias") } ?? true
                    var maxSize: Int?
                    if let m = s["max_size"], !(m is NSNull) { maxSize = try r.int(m, "max_size") }
                    steps.append(.resize(try Resize(size: size, interpolation: interpolation, maxSize: maxSize, antialias: antialias)))
                case "center_crop":
                    try r.rejectUnknown(s, allowed: ["op", "size"])
                    guard let sizeValue = s["size"] else { throw r.fail("size", "is missing") }
                    let sizes = try r.intOrInts(sizeValue, "size")
                    guard sizes.count == 1 || sizes.count == 2 else { throw r.fail("size", "must be an integer, [size] or [height, width]") }
                    steps.append(.centerCrop(try CenterCrop(height: sizes[0], width: sizes[sizes.count - 1])))
                case "to_tensor":
                    try r.rejectUnknown(s, allowed: ["op"])
                    steps.append(.toTensor)
                case "normalize":
                    try r.rejectUnknown(s, allowed: ["op", "mean", "std"])
                    guard let m = s["mean"] else { throw r.fail("mean", "is missing") }
                    guard let d = s["std"] else { throw r.fail("std", "is missing") }
                    steps.append(.normalize(try Normalize(mean: try r.floats(m, "mean"), std: try r.floats(d, "std"))))
                default:
                    throw r.fail("op", "unknown op \"\(op)\" (known: resize, center_crop, to_tensor, normalize)")
                }
            } catch let KilnImageError.invalidTransform(_, reason) {
                throw KilnImageError.invalidPreprocessing(step: i, key: nil, reason: "\(op): \(reason)")
            }
        }
        try self.init(input: input, color: color, exifTranspose: exif, alpha: alpha, steps: steps)
    }

    /// The pipeline as preprocessing JSON (docs/format.md §4.4): keys sorted, every key written,
    /// floats as the shortest decimal that reads back as the same binary32.
    public var json: String {
        func str(_ s: String) -> String {
            let d = (try? JSONSerialization.data(withJSONObject: [s])) ?? Data("[\"\"]".utf8)
            return String(String(decoding: d, as: UTF8.self).dropFirst().dropLast())
        }
        func floats(_ v: [Float]) -> String { "[" + v.map { "\($0)" }.joined(separator: ",") + "]" }
        var parts: [String] = []
        for step in steps {
            switch step {
            case let .resize(r):
                let size: String
                switch r.size {
                case let .shorterSide(s): size = "\(s)"
                case let .exact(h, w): size = "[\(h),\(w)]"
                }
                let maxSize = r.maxSize.map { "\($0)" } ?? "null"
                parts.append("{\"antialias\":\(r.antialias),\"interpolation\":\(str(r.interpolation.rawValue)),\"max_size\":\(maxSize),\"op\":\"resize\",\"size\":\(size)}")
            case let .centerCrop(c):
                parts.append("{\"op\":\"center_crop\",\"size\":[\(c.height),\(c.width)]}")
            case .toTensor:
                parts.append("{\"op\":\"to_tensor\"}")
            case let .normalize(n):
                parts.append("{\"mean\":\(floats(n.mean)),\"op\":\"normalize\",\"std\":\(floats(n.std))}")
            }
        }
        let (alphaName, bg): (String, RGB8) = {
            if case let .composite(b) = alpha { return ("composite", b) }
            return ("drop", .white)
        }()
        return "{\"alpha\":\"\(alphaName)\",\"background\":[\(bg.r),\(bg.g),\(bg.b)],\"color\":\"\(color.rawValue)\","
            + "\"exif_transpose\":\(exifTranspose),\"input\":\(str(input)),\"steps\":[" + parts.joined(separator: ",") + "]}"
    }
}

/// Typed reads from JSONSerialization output that tell booleans from numbers (both are NSNumber)
/// and name the step and key in every error.
struct JSONReader {
    let step: Int?

    func fail(_ key: String?, _ reason: String) -> KilnImageError {
        .invalidPreprocessing(step: step, key: key, reason: reason)
    }

    static func isBool(_ n: NSNumber) -> Bool {
        // JSONSerialization makes `true`/`false` NSNumbers of ObjC type "c" (char); numbers are
        // never "c".
        String(cString: n.objCType) == "c"
    }

    func rejectUnknown(_ o: [String: Any], allowed: Set<String>) throws {
        if let extra = o.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail(extra, "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ v: Any, _ key: String) throws -> String {
        guard let s = v as? String else { throw fail(key, "must be a string") }
        return s
    }

    func bool(_ v: Any, _ key: String) throws -> Bool {
        guard let n = v as? NSNumber, JSONReader.isBool(n) else { throw fail(key, "must be true or false") }
        return n.boolValue
    }

    func int(_ v: Any, _ key: String) throws -> Int {
        guard let n = v as? NSNumber, !JSONReader.isBool(n) else { throw fail(key, "must be an integer") }
        let d = n.doubleValue
        guard d.rounded() == d, abs(d) < 9.0e15 else { throw fail(key, "must be an integer, got \(n)") }
        return Int(d)
    }

    func ints(_ v: Any, _ key: String) throws -> [Int] {
        guard let a = v as? [Any] else { throw fail(key, "must be an array of integers") }
        return try a.map { try int($0, key) }
    }

    /// An integer or an array of integers.
    func intOrInts(_ v: Any, _ key: String) throws -> [Int] {
        if v is [Any] { return try ints(v, key) }
        return [try int(v, key)]
    }

    func floats(_ v: Any, _ key: String) throws -> [Float] {
        guard let a = v as? [Any] else { throw fail(key, "must be an array of numbers") }
        return try a.map {
            guard let n = $0 as? NSNumber, !JSONReader.isBool(n) else { throw fail(key, "must contain only numbers") }
            return Float(n.doubleValue)
        }
    }
}
