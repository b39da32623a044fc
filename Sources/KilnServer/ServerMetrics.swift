import Foundation
import Prometheus

/// The server's Prometheus metrics, in a registry of its own (so several servers in one process,
/// as in the tests, do not mix their counts). `GET /metrics` emits it in the text format.
///
/// | metric | type | labels |
/// | --- | --- | --- |
/// | `kiln_requests_total` | counter | `model`, `endpoint`, `status` |
/// | `kiln_request_duration_seconds` | histogram | `model`, `endpoint` |
/// | `kiln_queue_wait_seconds` | histogram | `model` |
/// | `kiln_preprocess_seconds` | histogram (decode + preprocess) | `model` |
/// | `kiln_inference_seconds` | histogram | `model` |
/// | `kiln_batch_size` | histogram | `model` |
/// | `kiln_inflight_requests` | gauge | `model` |
/// | `kiln_queue_depth` | gauge | `model` |
/// | `kiln_model_load_seconds` | gauge | `model` |
/// | `kiln_ready` | gauge (1 ready, 0 loading or draining) | |
public final class ServerMetrics: Sendable {
    /// The registry; `emit()` writes it out.
    public let registry = PrometheusCollectorRegistry()

    /// Latency buckets, in seconds: dense between 1 ms and 100 ms where the latency target is.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05,
                                           0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64]

    /// Creates the registry and the per-process gauges.
    public init() {
        ready = registry.makeGauge(descriptor: Self.name("ready", nil, "1 when every model is loaded and the server is not draining"))
    }

    /// `kiln_ready`.
    let ready: Gauge

    private static func name(_ metric: String, _ unit: String?, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "kiln", metricName: metric, unitName: unit ?? "", helpText: help)
    }

    /// Counts one finished request.
    func countRequest(model: String, endpoint: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: Self.name("requests", "total", "Requests by model, endpoint and HTTP status"),
                             labels: [("model", model), ("endpoint", endpoint), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: Self.name("request_duration", "seconds", "Time from request head to response, by model and endpoint"),
                                    labels: [("model", model), ("endpoint", endpoint)], buckets: Self.latencyBuckets).record(seconds)
    }

    /// Records where one inference request's time went.
    func recordStages(model: String, queueWait: Double, preprocess: Double?, inference: Double) {
        histogram("queue_wait", "Time a request waited in its model's queue", model).record(queueWait)
        if let preprocess {
            histogram("preprocess", "Image decode and preprocessing time per request", model).record(preprocess)
        }
        histogram("inference", "Forward-pass time of the batch a request ran in", model).record(inference)
    }

    /// Records the size of a batch that ran.
    func recordBatch(model: String, size: Int) {
        registry.makeValueHistogram(descriptor: Self.name("batch_size", nil, "Requests per executed batch"),
                                    labels: [("model", model)], buckets: Self.batchBuckets).record(Double(size))
    }

    /// Sets the queue depth and in-flight gauges of a model.
    func setLoad(model: String, queued: Int, running: Int) {
        registry.makeGauge(descriptor: Self.name("queue_depth", nil, "Requests waiting in the model's queue"),
                           labels: [("model", model)]).set(Double(queued))
        registry.makeGauge(descriptor: Self.name("inflight_requests", nil, "Requests of the model being preprocessed or run"),
                           labels: [("model", model)]).set(Double(running))
    }

    /// Records how long a model took to load, verify and warm up.
    func setLoadTime(model: String, seconds: Double) {
        registry.makeGauge(descriptor: Self.name("model_load", "seconds", "Load, self-test and warm-up time of the model"),
                           labels: [("model", model)]).set(seconds)
    }

    private func histogram(_ metric: String, _ help: String, _ model: String) -> ValueHistogram {
        registry.makeValueHistogram(descriptor: Self.name(metric, "seconds", help), labels: [("model", model)],
                                    buckets: Self.latencyBuckets)
    }

    /// The Prometheus text exposition of every metric.
    public func emit() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        registry.emit(into: &buffer)
        return buffer
    }
}
