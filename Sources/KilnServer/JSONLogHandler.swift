import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line to standard error:
/// `{"ts":"…","level":"info","msg":"request","request_id":"…",…}` — the shape log collectors
/// (Loki, Cloud Logging, Elasticsearch) parse without configuration.
public struct JSONLogHandler: LogHandler {
    /// The logger's label, written as `"logger"`.
    public let label: String
    /// Metadata attached to every line.
    public var metadata: Logger.Metadata = [:]
    /// Lines below this level are dropped.
    public var logLevel: Logger.Level = .info

    private static let lock = NSLock()

    /// Creates a handler; use as `LoggingSystem.bootstrap(JSONLogHandler.init)`.
    public init(label: String) { self.label = label }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (k, v) in metadata { fields[k] = "\(v)" }
        for (k, v) in event.metadata ?? [:] { fields[k] = "\(v)" }
        var line = "{\"ts\":\(JSONText.quote(Self.timestamp())),\"level\":\"\(event.level)\",\"logger\":\(JSONText.quote(label)),\"msg\":\(JSONText.quote("\(event.message)"))"
        for k in fields.keys.sorted() { line += ",\(JSONText.quote(k)):\(JSONText.quote(fields[k]!))" }
        line += "}\n"
        Self.lock.withLock { FileHandle.standardError.write(Data(line.utf8)) }
    }

    private static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
                      tmv.tm_hour, tmv.tm_min, tmv.tm_sec, Int(tv.tv_usec / 1000))
    }
}
