import Foundation
import Hummingbird
import Kiln
import KilnImage

/// A request that cannot be served, with the HTTP status it maps to and a message that names what
/// is wrong. Every error a handler throws becomes `{"error": "<message>"}` with ``status``; the
/// server keeps serving.
public enum ServeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Malformed input: undecodable image, wrong shape, dtype or byte count, malformed JSON (400).
    case badRequest(String)
    /// No model of that name is loaded (404).
    case modelNotFound(String)
    /// No such endpoint (404) or method (405).
    case routeNotFound(method: String, path: String)
    /// The body exceeds `--max-body-bytes` (413).
    case bodyTooLarge(limit: Int)
    /// The image declares more pixels than `--max-image-pixels`; refused before decoding (413).
    case imageTooLarge(width: Int, height: Int, limit: Int)
    /// The model's queue is full (429, with `Retry-After`).
    case queueFull(model: String, capacity: Int)
    /// The request waited or ran longer than `--request-timeout` (504).
    case timeout(seconds: Double)
    /// The server is draining after SIGTERM and accepts no new inference (503).
    case shuttingDown
    /// An unexpected failure inside the model (500).
    case internalError(String)

    /// The HTTP status of the error response.
    public var status: HTTPResponse.Status {
        switch self {
        case .badRequest: return .badRequest
        case .modelNotFound, .routeNotFound: return .notFound
        case .bodyTooLarge, .imageTooLarge: return .contentTooLarge
        case .queueFull: return .tooManyRequests
        case .timeout: return .gatewayTimeout
        case .shuttingDown: return .serviceUnavailable
        case .internalError: return .internalServerError
        }
    }

    /// The message sent as `{"error": …}`.
    public var description: String {
        switch self {
        case let .badRequest(m): return m
        case let .modelNotFound(name): return "unknown model '\(name)'"
        case let .routeNotFound(method, path): return "no endpoint \(method) \(path)"
        case let .bodyTooLarge(limit): return "request body exceeds the limit of \(limit) bytes"
        case let .imageTooLarge(w, h, limit): return "image of \(w)×\(h) pixels exceeds the limit of \(limit) pixels"
        case let .queueFull(model, capacity): return "model '\(model)' queue is full (\(capacity) waiting); retry later"
        case let .timeout(s): return "request timed out after \(s) s"
        case .shuttingDown: return "server is shutting down"
        case let .internalError(m): return "internal error: \(m)"
        }
    }

    /// Maps an error from Kiln or KilnImage to the status a client should see: bad images and
    /// inputs the model rejects are the client's fault (400), an oversized image is 413.
    static func from(_ error: any Error) -> ServeError {
        switch error {
        case let e as ServeError: return e
        case let KilnImageError.tooLarge(_, width, height, limit):
            return .imageTooLarge(width: width, height: height, limit: limit)
        case let e as KilnImageError: return .badRequest("image: \(e)")
        case let e as KilnError:
            switch e {
            case .shapeMismatch, .unsupportedDType, .invalidArgument: return .badRequest("\(e)")
            default: return .internalError("\(e)")
            }
        default: return .internalError("\(error)")
        }
    }
}
