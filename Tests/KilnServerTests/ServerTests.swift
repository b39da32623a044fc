import Foundation
import Kiln
import KilnImage
@testable import KilnServer
import XCTest

/// The server in-process on 127.0.0.1 with the bundled EfficientNet-Lite0: protocol, results
/// equal to the library's, every error status, back-pressure, drain.
final class ServerTests: XCTestCase {
    func testHealthAndMetadata() async throws {
        let s = try await RunningServer()
        let live = try await s.request("GET", "/v2/health/live")
        XCTAssertEqual(live.status, 200)
        let ready = try await s.request("GET", "/v2/health/ready", headers: ["X-Request-Id": "abc-123"])
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(ready.headers["x-request-id"], "abc-123")
        let server = try await s.request("GET", "/v2")
        XCTAssertEqual(server.json["name"] as? String, "kiln-serve")
        let meta = try await s.request("GET", "/v2/models/efficientnet_lite0")
        XCTAssertEqual(meta.status, 200)
        XCTAssertEqual(meta.json["name"] as? String, "efficientnet_lite0")
        let inputs = meta.json["inputs"] as? [[String: Any]]
        XCTAssertEqual(inputs?.first?["shape"] as? [Int], [-1, 3, 224, 224])
        XCTAssertEqual(inputs?.first?["datatype"] as? String, "FP32")
        let kiln = meta.json["kiln"] as? [String: Any]
        XCTAssertEqual(kiln?["data_sha256"] as? String, Shared.model.model.artifact.metadata.dataSHA256)
        XCTAssertEqual((kiln?["self_test"] as? [String: Any])?["status"] as? String, "passed")
        let modelReady = try await s.request("GET", "/v2/models/efficientnet_lite0/ready")
        XCTAssertEqual(modelReady.status, 200)
        let missing = try await s.request("GET", "/v2/models/nope/ready")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.json["error"] as? String, "unknown model 'nope'")
        try await s.stop()
    }

    func testPredictionsMatchClassifier() async throws {
        let s = try await RunningServer()
        let classifier = try Classifier(Shared.model.model)
        for name in ["chelsea.png", "rocket.jpg", "coffee.png"] {
            let data = try Data(contentsOf: Paths.image(name))
            let reply = try await s.request("POST", "/predictions/efficientnet_lite0?top=5", body: data)
            XCTAssertEqual(reply.status, 200, reply.text)
            let predictions = reply.json["predictions"] as? [[String: Any]] ?? []
            let expected = try classifier.classify(imageData: data, top: 5)
            XCTAssertEqual(predictions.map { $0["index"] as? Int }, expected.map(\.index), name)
            XCTAssertEqual(predictions.map { $0["label"] as? String }, expected.map(\.label), name)
            for (p, e) in zip(predictions, expected) {
                XCTAssertEqual(Float((p["probability"] as? Double) ?? -1), e.probability, name)
            }
            XCTAssertNotNil((reply.json["timings_ms"] as? [String: Any])?["inference"])
        }
        try await s.stop()
    }

    func testInferFP32BinaryAndJSONBitExact() async throws {
        let s = try await RunningServer()
        let x = try Shared.model.classifier!.preprocessing.tensor(contentsOf: Paths.image("chelsea.png"))
        let expected = try Shared.model.model.predict(["input": x])["logits"]!.scalars(as: Float.self)

        let (body, headers) = try V2.binaryFP32(x)
        let reply = try await s.request("POST", "/v2/models/efficientnet_lite0/infer", body: body, headers: headers)
        XCTAssertEqual(reply.status, 200, reply.text)
        let (json, bytes) = V2.split(reply)
        XCTAssertEqual(json["id"] as? String, "req-1")
        let out = (json["outputs"] as? [[String: Any]])?.first
        XCTAssertEqual(out?["shape"] as? [Int], [1, 1000])
        let got = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern))

        // The same input as JSON numbers, output as JSON: equal bit for bit too.
        let values = try x.scalars(as: Float.self)
        let jsonBody = "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3,224,224],\"data\":[\(values.map(\.description).joined(separator: ","))]}],\"outputs\":[{\"name\":\"logits\"}]}"
        let r2 = try await s.request("POST", "/v2/models/efficientnet_lite0/infer", body: Data(jsonBody.utf8))
        XCTAssertEqual(r2.status, 200, r2.text)
        let data = ((r2.json["outputs"] as? [[String: Any]])?.first?["data"] as? [NSNumber]) ?? []
        XCTAssertEqual(data.map { $0.floatValue.bitPattern }, expected.map(\.bitPattern))
        try await s.stop()
    }

    func testBytesImagesWithClassification() async throws {
        let s = try await RunningServer()
        let classifier = try Classifier(Shared.model.model)
        let images = try ["chelsea.png", "rocket.jpg"].map { try Data(contentsOf: Paths.image($0)) }
        let (body, headers) = V2.images(images, outputs: "[{\"name\":\"logits\",\"parameters\":{\"classification\":5,\"binary_data\":false}}]")
        let reply = try await s.request("POST", "/v2/models/efficientnet_lite0/infer", body: body, headers: headers)
        XCTAssertEqual(reply.status, 200, reply.text)
        let out = (reply.json["outputs"] as? [[String: Any]])?.first
        XCTAssertEqual(out?["datatype"] as? String, "BYTES")
        XCTAssertEqual(out?["shape"] as? [Int], [2, 5])
        let strings = out?["data"] as? [String] ?? []
        XCTAssertEqual(strings.count, 10)
        for (i, data) in images.enumerated() {
            let expected = try classifier.classify(imageData: data, top: 5)
            let got = strings[(i * 5)..<(i * 5 + 5)].map { $0.split(separator: ":", maxSplits: 2) }
            XCTAssertEqual(got.map { Int($0[1]) }, expected.map(\.index))
            XCTAssertEqual(got.map { String($0[2]) }, expected.map(\.label))
        }
        try await s.stop()
    }

    func testErrorsNameTheProblemAndServerKeepsServing() async throws {
        let s = try await RunningServer { $0.maxBodyBytes = 1 << 20; $0.maxImagePixels = 200_000 }
        let infer = "/v2/models/efficientnet_lite0/infer"
        func expect(_ status: Int, _ reply: RunningServer.Reply, contains: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(reply.status, status, reply.text, file: file, line: line)
            let message = reply.json["error"] as? String ?? ""
            XCTAssertTrue(message.contains(contains), "'\(message)' should mention '\(contains)'", file: file, line: line)
        }
        expect(404, try await s.request("POST", "/v2/models/resnet/infer", body: Data("{}".utf8)), contains: "resnet")
        expect(404, try await s.request("GET", "/v3/nothing"), contains: "no endpoint")
        expect(400, try await s.request("POST", infer, body: Data("{\"inputs\": [".utf8)), contains: "malformed JSON")
        let wrongShape = try Tensor(zeros: [1, 3, 200, 200])
        let (b1, h1) = try V2.binaryFP32(wrongShape)
        expect(400, try await s.request("POST", infer, body: b1, headers: h1), contains: "shape")
        var (b2, h2) = try V2.binaryFP32(try Tensor(zeros: [1, 3, 224, 224]))
        b2.removeLast(4)
        h2["Inference-Header-Content-Length"] = String(Int(h2["Inference-Header-Content-Length"]!)!)
        expect(400, try await s.request("POST", infer, body: b2, headers: h2), contains: "runs past the end")
        let int64 = "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[1]}]}"
        expect(400, try await s.request("POST", infer, body: Data(int64.utf8)), contains: "datatype")
        let count = "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3,224,224],\"data\":[1,2,3]}]}"
        expect(400, try await s.request("POST", infer, body: Data(count.utf8)), contains: "values")
        let huge = "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1000000000,3,224,224],\"data\":[1]}]}"
        expect(400, try await s.request("POST", infer, body: Data(huge.utf8)), contains: "dim 0")
        expect(400, try await s.request("POST", "/predictions/efficientnet_lite0", body: Data("not an image".utf8)), contains: "image")
        let (bad, hb) = V2.images([Data([0xFF, 0xD8, 0xFF, 0x00])], outputs: "[{\"name\":\"logits\"}]")
        expect(400, try await s.request("POST", infer, body: bad, headers: hb), contains: "image")
        expect(413, try await s.request("POST", "/predictions/efficientnet_lite0", body: Data(count: 2 << 20)), contains: "limit")
        // astronaut.png is 512×512 = 262,144 pixels, over the 200,000 limit.
        expect(413, try await s.request("POST", "/predictions/efficientnet_lite0", body: try Data(contentsOf: Paths.image("astronaut.png"))), contains: "pixels")
        expect(400, try await s.request("POST", "/predictions/efficientnet_lite0?top=0", body: try Data(contentsOf: Paths.image("chelsea.png"))), contains: "top")

        let ok = try await s.request("POST", "/predictions/efficientnet_lite0", body: try Data(contentsOf: Paths.image("chelsea.png")))
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual((ok.json["predictions"] as? [[String: Any]])?.first?["index"] as? Int, 282)
        try await s.stop()
    }

    func testFullQueueAnswers429AtOnce() async throws {
        let s = try await RunningServer { $0.workers = 1; $0.maxQueue = 1 }
        let image = try Data(contentsOf: Paths.image("chelsea.png"))
        let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<16 {
                group.addTask {
                    let r = try await s.request("POST", "/predictions/efficientnet_lite0", body: image)
                    return (r.status, r.headers["retry-after"])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertTrue(statuses.contains { $0.0 == 200 })
        let rejected = statuses.filter { $0.0 == 429 }
        XCTAssertFalse(rejected.isEmpty, "\(statuses)")
        XCTAssertTrue(rejected.allSatisfy { $0.1 == "1" })
        XCTAssertTrue(statuses.allSatisfy { $0.0 == 200 || $0.0 == 429 }, "\(statuses)")
        let ok = try await s.request("POST", "/predictions/efficientnet_lite0", body: image)
        XCTAssertEqual(ok.status, 200)
        try await s.stop()
    }

    func testTimeoutAnswers504() async throws {
        let s = try await RunningServer { $0.requestTimeout = 0.000_001 }
        let reply = try await s.request("POST", "/predictions/efficientnet_lite0", body: try Data(contentsOf: Paths.image("chelsea.png")))
        XCTAssertEqual(reply.status, 504, reply.text)
        XCTAssertNotNil(reply.json["error"])
        try await s.stop()
    }

    func testMetricsAreExposed() async throws {
        let s = try await RunningServer()
        _ = try await s.request("POST", "/predictions/efficientnet_lite0", body: try Data(contentsOf: Paths.image("chelsea.png")))
        let m = try await s.request("GET", "/metrics")
        XCTAssertEqual(m.status, 200)
        for name in ["kiln_requests_total{", "kiln_request_duration_seconds_bucket{", "kiln_queue_wait_seconds_bucket{",
                     "kiln_preprocess_seconds_bucket{", "kiln_inference_seconds_bucket{", "kiln_batch_size_bucket{",
                     "kiln_inflight_requests{", "kiln_queue_depth{", "kiln_model_load_seconds{", "kiln_ready 1"] {
            XCTAssertTrue(m.text.contains(name), "missing \(name)")
        }
        XCTAssertTrue(m.text.contains("status=\"200\""))
        try await s.stop()
    }

    func testDynamicBatchingGivesEqualResults() async throws {
        let s = try await RunningServer { $0.workers = 1; $0.maxBatch = 4; $0.batchDelayMicroseconds = 20_000 }
        let classifier = try Classifier(Shared.model.model)
        let names = ["chelsea.png", "rocket.jpg", "coffee.png", "astronaut.png"]
        let results = try await withThrowingTaskGroup(of: (String, [Int]).self) { group in
            for n in names {
                group.addTask {
                    let r = try await s.request("POST", "/predictions/efficientnet_lite0?top=3", body: try Data(contentsOf: Paths.image(n)))
                    return (n, (r.json["predictions"] as? [[String: Any]] ?? []).compactMap { $0["index"] as? Int })
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for n in names {
            XCTAssertEqual(results[n], try classifier.classify(imageAt: Paths.image(n), top: 3).map(\.index), n)
        }
        let metrics = try await s.request("GET", "/metrics").text
        XCTAssertTrue(metrics.contains("kiln_batch_size_count"))
        try await s.stop()
    }

    func testGracefulShutdownCompletesAcceptedRequests() async throws {
        let s = try await RunningServer { $0.workers = 1 }
        let image = try Data(contentsOf: Paths.image("chelsea.png"))
        let inflight = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 { group.addTask { try await s.request("POST", "/predictions/efficientnet_lite0", body: image).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        try await Task.sleep(for: .milliseconds(30))
        await s.server.shutdown()
        // Readiness turns 503 as soon as the drain begins.
        let deadline = Date().addingTimeInterval(2)
        while s.server.isReady && Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertFalse(s.server.isReady)
        let statuses = try await inflight.value
        XCTAssertEqual(statuses, Array(repeating: 200, count: 6))
        try await s.task.value
    }
}

/// Units that need no server.
final class ServerUnitTests: XCTestCase {
    func testCPUQuotaParsing() {
        XCTAssertNil(CPUQuota.parseCPUMax("max 100000\n"))
        XCTAssertEqual(CPUQuota.parseCPUMax("200000 100000\n"), 2)
        XCTAssertEqual(CPUQuota.parseCPUMax("150000 100000"), 1.5)
        XCTAssertNil(CPUQuota.parseV1(quota: "-1\n", period: "100000\n"))
        XCTAssertEqual(CPUQuota.parseV1(quota: "400000\n", period: "100000\n"), 4)
        XCTAssertGreaterThanOrEqual(CPUQuota.effectiveCPUs, 1)
    }

    func testThreadBudgetNeverOversubscribesByDefault() {
        for cpus in 1...16 {
            let b = ServerConfiguration.budget(cpus: cpus, workers: nil, threads: nil)
            XCTAssertEqual(b.workers, cpus)
            XCTAssertEqual(b.threads, 1)
            XCTAssertNil(b.warning)
            let t = ServerConfiguration.budget(cpus: cpus, workers: nil, threads: 2)
            XCTAssertLessThanOrEqual(t.workers + t.threads - 1, max(cpus, 2))
        }
        XCTAssertNotNil(ServerConfiguration.budget(cpus: 2, workers: 4, threads: 2).warning)
    }

    func testBytesTensorParsingRejectsMalformedLengths() throws {
        var bytes = Data()
        withUnsafeBytes(of: UInt32(1000).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [1, 2, 3])
        let input = OpenInference.Input(name: "input", datatype: "BYTES", shape: [1], binary: bytes, json: nil)
        XCTAssertThrowsError(try OpenInference.byteElements(input, maxCount: 4)) { e in
            XCTAssertEqual((e as? ServeError)?.status, .badRequest)
        }
        let many = OpenInference.Input(name: "input", datatype: "BYTES", shape: [100], binary: Data(), json: nil)
        XCTAssertThrowsError(try OpenInference.byteElements(many, maxCount: 4))
    }

    func testClassificationStrings() throws {
        let t = try Tensor(shape: [1, 3], scalars: [Float(0.5), 2, -1])
        let o = try OpenInference.classification(name: "y", tensor: t, k: 2, labels: ["a", "b", "c"], binary: false)
        XCTAssertEqual(o.jsonData, "[\"2.000000:1:b\",\"0.500000:0:a\"]")
        XCTAssertEqual(o.shape, [1, 2])
    }
}
