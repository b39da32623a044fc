/// Every error KilnImage throws. Each case names what is wrong and where: the source (a file path
/// or `"<memory>"`), the format, the byte offset when the decoder knows it, the pipeline step.
public enum KilnImageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input has no bytes.
    case empty(source: String)
    /// The bytes are not a format KilnImage decodes (sniffed from the magic bytes, never the file
    /// extension), or use a feature it does not support (a 12-bit JPEG, a 2-component JPEG).
    /// `format` is what the magic bytes say (`"GIF"`, `"JPEG"`, `"unknown"`).
    case unsupported(source: String, format: String, reason: String)
    /// The stream violates its format. `offset` is how far the decoder had read, when known.
    case corrupt(source: String, format: String, offset: Int?, reason: String)
    /// The stream ends before the image is complete. `offset` is where the data ran out.
    case truncated(source: String, format: String, offset: Int?, reason: String)
    /// The header claims `width × height` pixels, more than `limit`; refused before any pixel
    /// memory is allocated.
    case tooLarge(source: String, width: Int, height: Int, limit: Int)
    /// A caller-supplied pixel buffer does not match its description (size, stride, dimensions).
    case invalidPixelBuffer(reason: String)
    /// A transform was given an impossible argument (a zero size, a negative crop).
    case invalidTransform(transform: String, reason: String)
    /// The preprocessing description is invalid. `step` is the index into `steps` when the problem
    /// is inside a step, `key` the offending key.
    case invalidPreprocessing(step: Int?, key: String?, reason: String)
    /// A file could not be read.
    case io(path: String, reason: String)

    /// A one-line, human-readable explanation.
    public var description: String {
        func at(_ offset: Int?) -> String { offset.map { " at byte \($0)" } ?? "" }
        switch self {
        case let .empty(source):
            return "'\(source)': empty input, no image bytes"
        case let .unsupported(source, format, reason):
            return "'\(source)' (\(format)): unsupported: \(reason)"
        case let .corrupt(source, format, offset, reason):
            return "'\(source)' (\(format)): corrupt\(at(offset)): \(reason)"
        case let .truncated(source, format, offset, reason):
            return "'\(source)' (\(format)): truncated\(at(offset)): \(reason)"
        case let .tooLarge(source, width, height, limit):
            return "'\(source)': \(width)×\(height) pixels exceeds the limit of \(limit) pixels"
        case let .invalidPixelBuffer(reason):
            return "invalid pixel buffer: \(reason)"
        case let .invalidTransform(transform, reason):
            return "\(transform): \(reason)"
        case let .invalidPreprocessing(step, key, reason):
            var place = "preprocessing"
            if let step { place += ".steps[\(step)]" }
            if let key { place += ".\(key)" }
            return "\(place): \(reason)"
        case let .io(path, reason):
            return "I/O error on '\(path)': \(reason)"
        }
    }
}
