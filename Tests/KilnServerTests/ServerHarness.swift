import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kiln
import KilnImage
import KilnServer
import Logging
import XCTest

/// Paths of the bundled model and images.
enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = root.appendingPathComponent("Fixtures/models/efficientnet_lite0.kiln")
    static func image(_ name: String) -> URL { root.appendingPathComponent("Fixtures/images/\(name)") }
}

/// The bundled model, loaded once for every test (servers with different limits share it).
enum Shared {
    static let model: ServedModel = {
        var c = ServerConfiguration(cpus: 2)
        c.threadsPerInference = 1
        return try! InferenceServer.loadModels(at: [Paths.model], configuration: c, logger: Logger(label: "test"))[0]
    }()
}

/// A server running in-process on 127.0.0.1 and an ephemeral port.
final class RunningServer: @unchecked Sendable {
    let server: InferenceServer
    let task: Task<Void, any Error>
    let port: Int

    init(_ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        var config = ServerConfiguration(cpus: 2)
        config.host = "127.0.0.1"
        config.port = 0
        configure(&config)
        var logger = Logger(label: "kiln-serve-test")
        logger.logLevel = .warning
        let server = InferenceServer(models: [Shared.model], configuration: config, logger: logger)
        self.server = server
        task = Task { try await server.run(gracefulShutdownSignals: []) }
        let deadline = Date().addingTimeInterval(20)
        while server.boundPort == nil {
            guard Date() < deadline else { throw XCTSkip("server did not start within 20 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
        port = server.boundPort!
    }

    func stop() async throws {
        await server.shutdown()
        try await task.value
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.httpMethod = method
        r.httpBody = body
        r.timeoutInterval = 60
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        return try await withCheckedThrowingContinuation { c in
            URLSession.shared.dataTask(with: r) { data, response, error in
                if let error { c.resume(throwing: error); return }
                let http = response as! HTTPURLResponse
                var h: [String: String] = [:]
                for (k, v) in http.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
                c.resume(returning: Reply(status: http.statusCode, headers: h, body: data ?? Data()))
            }.resume()
        }
    }
}

/// Builds Open Inference Protocol bodies with the binary tensor extension.
enum V2 {
    static func binaryFP32(_ t: Tensor, name: String = "input", outputs: String? = nil) throws -> (Data, [String: String]) {
        let bytes = t.withUnsafeBytes { Data($0) }
        var header = "{\"id\":\"req-1\",\"inputs\":[{\"name\":\"\(name)\",\"datatype\":\"FP32\",\"shape\":\(t.shape),\"parameters\":{\"binary_data_size\":\(bytes.count)}}]"
        header += outputs.map { ",\"outputs\":\($0)" } ?? ",\"parameters\":{\"binary_data_output\":true}"
        header += "}"
        var body = Data(header.utf8)
        let length = body.count
        body.append(bytes)
        return (body, ["Inference-Header-Content-Length": String(length), "Content-Type": "application/octet-stream"])
    }

    static func images(_ images: [Data], name: String = "input", outputs: String) -> (Data, [String: String]) {
        var bytes = Data()
        for i in images {
            withUnsafeBytes(of: UInt32(i.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(i)
        }
        let header = "{\"inputs\":[{\"name\":\"\(name)\",\"datatype\":\"BYTES\",\"shape\":[\(images.count)],\"parameters\":{\"binary_data_size\":\(bytes.count)}}],\"outputs\":\(outputs)}"
        var body = Data(header.utf8)
        let length = body.count
        body.append(bytes)
        return (body, ["Inference-Header-Content-Length": String(length)])
    }

    /// Splits a binary response into its JSON header and the bytes after it.
    static func split(_ reply: RunningServer.Reply) -> ([String: Any], Data) {
        guard let n = reply.headers["inference-header-content-length"].flatMap(Int.init) else { return (reply.json, Data()) }
        let json = (try? JSONSerialization.jsonObject(with: reply.body.prefix(n)) as? [String: Any]) ?? [:]
        return (json, reply.body.dropFirst(n))
    }
}
