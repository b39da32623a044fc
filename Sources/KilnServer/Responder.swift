import Foundation
import HTTPTypes
import Hummingbird
import Kiln
import KilnImage
import Logging
import NIOCore

/// Routes every request by method and path segments. Unknown paths and models get a JSON 404;
/// every ``ServeError`` becomes its status with `{"error": …}`; each response carries the
/// request's `X-Request-Id` and is counted in the metrics.
struct Responder: HTTPResponder {
    typealias Context = BasicRequestContext
    let server: InferenceServer

    private static let requestIDHeader = HTTPField.Name("X-Request-Id")!
    private static let headerLengthField = HTTPField.Name("Inference-Header-Content-Length")!
    private static let retryAfter = HTTPField.Name("Retry-After")!
    private static let counter = RequestCounter()

    /// What a route produced, with the labels it is counted under.
    struct Outcome {
        var response: Response
        var model: String = ""
        var endpoint: String
        var quiet = false
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let requestID = request.headers[Self.requestIDHeader].map { String($0.prefix(128)) } ?? Self.counter.next()
        var outcome: Outcome
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        do {
            outcome = try await route(request, segments: segments, requestID: requestID)
        } catch {
            let e = ServeError.from(error)
            outcome = Outcome(response: Self.error(e), model: Self.modelLabel(segments, known: server.models), endpoint: Self.endpointLabel(segments))
        }
        outcome.response.headers[Self.requestIDHeader] = requestID
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let status = Int(outcome.response.status.code)
        server.metrics.countRequest(model: outcome.model, endpoint: outcome.endpoint, status: status, seconds: seconds)
        let level: Logger.Level = outcome.quiet && status < 400 ? .debug : (status >= 500 ? .error : .info)
        server.logger.log(level: level, "request", metadata: [
            "request_id": .string(requestID), "method": .string(request.method.rawValue), "path": .string(request.uri.path),
            "status": .stringConvertible(status), "model": .string(outcome.model), "ms": .string(String(format: "%.2f", seconds * 1000)),
        ])
        return outcome.response
    }

    private func route(_ request: Request, segments s: [String], requestID: String) async throws -> Outcome {
        let get = request.method == .get, post = request.method == .post
        switch (s.first, s.count) {
        case ("metrics", 1) where get:
            return Outcome(response: Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                              body: .init(byteBuffer: ByteBuffer(bytes: server.metrics.emit()))),
                           endpoint: "metrics", quiet: true)
        case ("v2", 1) where get:
            return Outcome(response: Self.json(ModelMetadata.server()), endpoint: "server_metadata", quiet: true)
        case ("v2", 3) where get && s[1] == "health" && s[2] == "live":
            return Outcome(response: Self.json(["live": true]), endpoint: "live", quiet: true)
        case ("v2", 3) where get && s[1] == "health" && s[2] == "ready":
            let ready = server.isReady
            return Outcome(response: Self.json(["ready": ready], status: ready ? .ok : .serviceUnavailable), endpoint: "ready", quiet: true)
        case ("v2", _) where s.count >= 3 && s[1] == "models":
            // /v2/models/{name}[/versions/{v}][/ready|/infer]
            var rest = Array(s.dropFirst(3))
            if rest.count >= 2, rest[0] == "versions" { rest.removeFirst(2) }
            let model = try model(named: s[2])
            switch (rest.first, rest.count) {
            case (nil, 0) where get:
                return Outcome(response: Self.json(ModelMetadata.model(model)), model: model.name, endpoint: "model_metadata", quiet: true)
            case ("ready", 1) where get:
                let ready = server.isReady
                return Outcome(response: Self.json(["name": model.name, "ready": ready], status: ready ? .ok : .serviceUnavailable),
                               model: model.name, endpoint: "model_ready", quiet: true)
            case ("infer", 1) where post:
                return Outcome(response: try await infer(request, model: model), model: model.name, endpoint: "infer")
            default: break
            }
        case ("predictions", 2) where post:
            let model = try model(named: s[1])
            return Outcome(response: try await predictions(request, model: model), model: model.name, endpoint: "predictions")
        default: break
        }
        throw ServeError.routeNotFound(method: request.method.rawValue, path: request.uri.path)
    }

    private func model(named name: String) throws -> ServedModel {
        guard let m = server.models[name] else { throw ServeError.modelNotFound(name) }
        return m
    }

    // MARK: Open Inference Protocol

    private func infer(_ request: Request, model: ServedModel) async throws -> Response {
        let headerLength = try request.headers[Self.headerLengthField].map { v -> Int in
            guard let n = Int(v), n >= 0 else { throw ServeError.badRequest("Inference-Header-Content-Length '\(v)' is not a byte count") }
            return n
        }
        let body = try await collect(request)
        let parsed = try OpenInference.parseRequest(body, headerLength: headerLength)
        let prepare = try inferInputs(parsed, model: model)
        let result = try await submit(model, prepare)

        // Which outputs, in which encoding.
        var outputs: [OpenInference.Output] = []
        let requested = parsed.outputs ?? model.model.outputs.map { OpenInference.RequestedOutput(name: $0.name) }
        for r in requested {
            guard let tensor = result.outputs[r.name] else {
                throw ServeError.badRequest("unknown output '\(r.name)'; the model's outputs are \(model.model.outputs.map(\.name))")
            }
            let binary = r.binary ?? parsed.binaryDataOutput
            if let k = r.classification {
                outputs.append(try OpenInference.classification(name: r.name, tensor: tensor, k: k, labels: model.model.labels, binary: binary))
            } else {
                outputs.append(try OpenInference.output(name: r.name, tensor: tensor, binary: binary))
            }
        }
        let (bytes, jsonLength) = OpenInference.encodeResponse(model: model.name, id: parsed.id, outputs: outputs)
        var headers: HTTPFields = [.contentType: jsonLength == nil ? "application/json" : "application/octet-stream"]
        if let jsonLength { headers[Self.headerLengthField] = String(jsonLength) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Turns the request's inputs into a job: tensors are built here (cheap copies); encoded
    /// images are decoded and preprocessed on the worker.
    private func inferInputs(_ parsed: OpenInference.Request, model served: ServedModel) throws -> @Sendable () throws -> PreparedInputs {
        let declared = served.model.inputs
        let maxBatch = server.configuration.maxRequestBatch
        for i in parsed.inputs where !declared.contains(where: { $0.name == i.name }) {
            throw ServeError.badRequest("unknown input '\(i.name)'; the model's inputs are \(declared.map(\.name))")
        }
        for d in declared where !parsed.inputs.contains(where: { $0.name == d.name }) {
            throw ServeError.badRequest("missing input '\(d.name)' (\(OpenInference.datatype(d.dtype)) \(d.shape))")
        }
        var tensors: [String: Tensor] = [:]
        var images: (name: String, items: [Data])?
        for input in parsed.inputs {
            let info = declared.first { $0.name == input.name }!
            if input.datatype == "BYTES", let c = served.classifier, c.preprocessing.input == input.name {
                images = (input.name, try OpenInference.byteElements(input, maxCount: maxBatch))
            } else {
                tensors[input.name] = try OpenInference.tensor(input, info: info, maxBatch: maxBatch)
            }
        }
        let fixed = UncheckedTensors(tensors)
        guard let images else { return { PreparedInputs(inputs: fixed.value, preprocessSeconds: nil) } }
        let preprocessing = served.classifier!.preprocessing
        let maxPixels = server.configuration.maxImagePixels
        return {
            let start = DispatchTime.now().uptimeNanoseconds
            var feeds = fixed.value
            feeds[images.name] = try Self.preprocess(images.items, preprocessing, maxPixels: maxPixels)
            return PreparedInputs(inputs: feeds, preprocessSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
    }

    /// Decodes and preprocesses images into one `[N, 3, H, W]` tensor.
    static func preprocess(_ images: [Data], _ preprocessing: Preprocessing, maxPixels: Int) throws -> Tensor {
        let options = preprocessing.decodingOptions(maxPixels: maxPixels)
        var tensors: [Tensor] = []
        for (i, data) in images.enumerated() {
            let image = try ImageDecoder.decode(data, options: options, source: images.count == 1 ? "image" : "image \(i)")
            tensors.append(try preprocessing.tensor(image))
        }
        if tensors.count == 1 { return tensors[0] }
        return try TensorBatching.concatenate(tensors.map { ["x": $0] }).inputs["x"]!
    }

    // MARK: /predictions

    private func predictions(_ request: Request, model: ServedModel) async throws -> Response {
        guard let preprocessing = model.classifier?.preprocessing else {
            throw ServeError.badRequest("model '\(model.name)' has no preprocessing section; send tensors to /v2/models/\(model.name)/infer")
        }
        var top = 5
        if let t = request.uri.queryParameters["top"] {
            guard let k = Int(String(t)), k >= 1 else { throw ServeError.badRequest("top must be a positive integer, got '\(t)'") }
            top = k
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let body = try await collect(request)
        guard !body.isEmpty else { throw ServeError.badRequest("empty body: send the JPEG or PNG bytes") }
        let maxPixels = server.configuration.maxImagePixels
        let result = try await submit(model) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let tensor = try Self.preprocess([body], preprocessing, maxPixels: maxPixels)
            return PreparedInputs(inputs: [preprocessing.input: tensor],
                                  preprocessSeconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        guard let output = model.classificationOutput, let tensor = result.outputs[output.name] else {
            throw ServeError.internalError("model '\(model.name)' has no single output to classify")
        }
        let classes = try Classifier.topClasses(tensor, top: top, labels: model.model.labels, isProbability: model.endsInSoftmax)
        let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let answer: [String: Any] = [
            "model": model.name,
            "predictions": classes.map { ["index": $0.index, "label": $0.label, "probability": Double($0.probability)] as [String: Any] },
            "timings_ms": [
                "queue": result.queueSeconds * 1000,
                "preprocess": (result.preprocessSeconds ?? 0) * 1000,
                "inference": result.inferenceSeconds * 1000,
                "total": total,
            ],
        ]
        return Self.json(answer)
    }

    // MARK: Plumbing

    private func submit(_ model: ServedModel, _ prepare: @escaping @Sendable () throws -> PreparedInputs) async throws -> InferenceResult {
        do {
            let r = try await server.scheduler.submit(model: server.scheduler.index[model.name]!, timeout: server.configuration.requestTimeout, prepare: prepare)
            server.metrics.recordStages(model: model.name, queueWait: r.queueSeconds, preprocess: r.preprocessSeconds, inference: r.inferenceSeconds)
            return r
        } catch {
            throw ServeError.from(error)
        }
    }

    /// Reads the body, refusing (413) a declared or actual size over `maxBodyBytes` without
    /// buffering more than the limit.
    private func collect(_ request: Request) async throws -> Data {
        let limit = server.configuration.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw ServeError.bodyTooLarge(limit: limit)
        }
        var data = Data()
        for try await chunk in request.body {
            guard data.count + chunk.readableBytes <= limit else { throw ServeError.bodyTooLarge(limit: limit) }
            chunk.withUnsafeReadableBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: JSONText.object(object))))
    }

    static func error(_ e: ServeError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if case .queueFull = e { headers[retryAfter] = "1" }
        if case .shuttingDown = e { headers[.connection] = "close" }
        return Response(status: e.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONText.error(e.description))))
    }

    private static func modelLabel(_ s: [String], known: [String: ServedModel]) -> String {
        let candidate = s.count >= 3 && s[0] == "v2" && s[1] == "models" ? s[2] : (s.count == 2 && s[0] == "predictions" ? s[1] : "")
        // Only known names become label values, so clients cannot grow the metric set.
        return known[candidate] == nil ? "" : candidate
    }

    private static func endpointLabel(_ s: [String]) -> String {
        if s.first == "predictions" { return "predictions" }
        if s.last == "infer" { return "infer" }
        return s.first == "v2" ? "v2" : "other"
    }
}

/// Tensors moved into a job closure; they are never mutated after construction.
private struct UncheckedTensors: @unchecked Sendable {
    let value: [String: Tensor]
    init(_ value: [String: Tensor]) { self.value = value }
}

/// Request ids for requests that bring none: a per-process random prefix and a counter.
private final class RequestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n: UInt64 = 0
    private let prefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    func next() -> String {
        let v = lock.withLock { n += 1; return n }
        return "\(prefix)-\(v)"
    }
}
