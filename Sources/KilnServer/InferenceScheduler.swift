import Foundation
import Kiln

/// The inputs of one request, ready for the model, and what preparing them cost.
struct PreparedInputs: @unchecked Sendable {
    /// One tensor per graph input; the first dimension is the request's batch.
    var inputs: [String: Tensor]
    /// Seconds spent decoding and preprocessing images (`nil` for tensor inputs).
    var preprocessSeconds: Double?
}

/// What a worker hands back for one request.
struct InferenceResult: @unchecked Sendable {
    /// Every graph output, sliced to this request's rows when it ran in a batch.
    var outputs: [String: Tensor]
    /// Seconds from enqueue to a worker taking the request.
    var queueSeconds: Double
    /// Seconds of decode + preprocess, when the request carried images.
    var preprocessSeconds: Double?
    /// Seconds of the forward pass (of the whole batch the request ran in).
    var inferenceSeconds: Double
    /// Requests in that batch.
    var batchSize: Int
}

/// Resumes a continuation exactly once: with the worker's result, or with a timeout, whichever
/// comes first.
private final class OneShot: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<InferenceResult, any Error>?
    private var finished = false

    init(_ c: CheckedContinuation<InferenceResult, any Error>) { continuation = c }

    var isFinished: Bool { lock.withLock { finished } }

    func finish(_ result: Result<InferenceResult, any Error>) {
        let c: CheckedContinuation<InferenceResult, any Error>? = lock.withLock {
            guard !finished else { return nil }
            finished = true
            defer { continuation = nil }
            return continuation
        }
        c?.resume(with: result)
    }
}

/// Runs inferences on dedicated worker threads, never on the NIO event loops or Swift's
/// cooperative pool (a 10 ms forward pass there would stall every connection and task).
///
/// Each model has a bounded FIFO queue; a request that finds it full is refused at once
/// (``ServeError/queueFull(model:capacity:)``), so memory never grows with load. `workers`
/// threads serve all models, oldest request first. With `maxBatch > 1`, a worker that takes a
/// request of a batchable model waits up to `batchDelay` for more of the same model and runs
/// them as one batch.
final class InferenceScheduler: @unchecked Sendable {
    private struct Job {
        let enqueued: UInt64
        let prepare: @Sendable () throws -> PreparedInputs
        let box: OneShot
    }

    private struct ModelQueue {
        let model: ServedModel
        let batchable: Bool
        var jobs: [Job] = []
        var head = 0
        var running = 0
        var count: Int { jobs.count - head }

        mutating func pop() -> Job {
            let j = jobs[head]
            head += 1
            // Compact once the consumed prefix dominates, so the array stays bounded by the queue limit.
            if head > 32 && head * 2 > jobs.count { jobs.removeFirst(head); head = 0 }
            return j
        }
    }

    private let condition = NSCondition()
    private var queues: [ModelQueue]
    private var stopping = false
    private var threads: [Thread] = []
    private var alive = 0
    private let maxQueue: Int
    private let maxBatch: Int
    private let batchDelayNanos: UInt64
    private let metrics: ServerMetrics

    /// Model index by name.
    let index: [String: Int]

    init(models: [ServedModel], workers: Int, maxQueue: Int, maxBatch: Int, batchDelayMicroseconds: Int, metrics: ServerMetrics) {
        queues = models.map { ModelQueue(model: $0, batchable: Self.isBatchable($0.model)) }
        index = Dictionary(uniqueKeysWithValues: models.enumerated().map { ($1.name, $0) })
        self.maxQueue = max(0, maxQueue)
        self.maxBatch = max(1, maxBatch)
        batchDelayNanos = UInt64(max(0, batchDelayMicroseconds)) * 1000
        self.metrics = metrics
        for m in models { metrics.setLoad(model: m.name, queued: 0, running: 0) }
        for i in 0..<max(1, workers) {
            let t = Thread { [unowned self] in self.workerLoop() }
            t.name = "kiln-worker-\(i)"
            t.stackSize = 8 << 20
            threads.append(t)
        }
        alive = threads.count
        threads.forEach { $0.start() }
    }

    /// A model can be batched when every input and output is float32 with a symbolic first dim.
    static func isBatchable(_ model: Model) -> Bool {
        (model.inputs + model.outputs).allSatisfy { v in
            if v.dtype != .float32 { return false }
            if case .symbol = v.shape.first { return true }
            return false
        }
    }

    /// Queues a request and waits for its result.
    /// - Parameters:
    ///   - model: Index into the served models.
    ///   - timeout: Seconds until the request fails with ``ServeError/timeout(seconds:)``.
    ///   - prepare: Runs on the worker: decode and preprocess, or just hand over tensors.
    /// - Throws: ``ServeError/queueFull(model:capacity:)`` at once when the queue is full,
    ///   ``ServeError/timeout(seconds:)``, ``ServeError/shuttingDown``, or what `prepare` or the
    ///   model threw.
    func submit(model: Int, timeout: Double, prepare: @escaping @Sendable () throws -> PreparedInputs) async throws -> InferenceResult {
        try await withCheckedThrowingContinuation { continuation in
            let box = OneShot(continuation)
            condition.lock()
            if stopping {
                condition.unlock()
                box.finish(.failure(ServeError.shuttingDown))
                return
            }
            if queues[model].count >= maxQueue + idleCapacity() {
                let name = queues[model].model.name
                condition.unlock()
                box.finish(.failure(ServeError.queueFull(model: name, capacity: maxQueue)))
                return
            }
            queues[model].jobs.append(Job(enqueued: DispatchTime.now().uptimeNanoseconds, prepare: prepare, box: box))
            publish(model)
            condition.signal()
            condition.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                box.finish(.failure(ServeError.timeout(seconds: timeout)))
            }
        }
    }

    /// Workers not running anything: a request for them is not "waiting", so it does not count
    /// against `maxQueue`. Called with the lock held.
    private func idleCapacity() -> Int {
        let running = queues.reduce(0) { $0 + $1.running }
        let waiting = queues.reduce(0) { $0 + $1.count }
        return max(0, threads.count - running - waiting)
    }

    /// Stops taking requests, lets the workers finish every queued one, and joins them.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while alive > 0 { condition.wait() }
        condition.unlock()
    }

    /// Queued and running requests per model name.
    func load() -> [String: (queued: Int, running: Int)] {
        condition.lock()
        defer { condition.unlock() }
        var out: [String: (queued: Int, running: Int)] = [:]
        for q in queues { out[q.model.name] = (q.count, q.running) }
        return out
    }

    /// Called with the lock held.
    private func publish(_ m: Int) {
        metrics.setLoad(model: queues[m].model.name, queued: queues[m].count, running: queues[m].running)
    }

    private func workerLoop() {
        while let (m, jobs) = nextBatch() {
            run(jobs, model: queues[m].model)
            condition.lock()
            queues[m].running -= jobs.count
            publish(m)
            condition.unlock()
        }
        condition.lock()
        alive -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Takes the oldest request (and, when batching, more of the same model); `nil` when stopping
    /// with every queue empty.
    private func nextBatch() -> (Int, [Job])? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            var best: Int?
            for i in queues.indices where queues[i].count > 0 {
                if best == nil || queues[i].jobs[queues[i].head].enqueued < queues[best!].jobs[queues[best!].head].enqueued { best = i }
            }
            guard let m = best else {
                if stopping { return nil }
                condition.wait()
                continue
            }
            var jobs = [queues[m].pop()]
            if maxBatch > 1, queues[m].batchable {
                let deadline = DispatchTime.now().uptimeNanoseconds + batchDelayNanos
                while jobs.count < maxBatch {
                    if queues[m].count > 0 { jobs.append(queues[m].pop()); continue }
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now >= deadline || stopping { break }
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
                }
            }
            queues[m].running += jobs.count
            publish(m)
            return (m, jobs)
        }
    }

    /// Prepares every request, runs them (as one batch when there are several), and completes them.
    private func run(_ jobs: [Job], model served: ServedModel) {
        var prepared: [(Job, PreparedInputs, Double)] = []
        for job in jobs where !job.box.isFinished {
            let start = DispatchTime.now().uptimeNanoseconds
            let queueSeconds = Double(start - job.enqueued) / 1e9
            do {
                prepared.append((job, try job.prepare(), queueSeconds))
            } catch {
                job.box.finish(.failure(error))
            }
        }
        guard !prepared.isEmpty else { return }
        metrics.recordBatch(model: served.name, size: prepared.count)
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let parts: [[String: Tensor]]
            if prepared.count == 1 {
                parts = [try served.model.predict(prepared[0].1.inputs)]
            } else {
                let merged = try TensorBatching.concatenate(prepared.map(\.1.inputs))
                let out = try served.model.predict(merged.inputs)
                parts = try TensorBatching.split(out, rows: merged.rows)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            for (i, (job, p, queued)) in prepared.enumerated() {
                job.box.finish(.success(InferenceResult(outputs: parts[i], queueSeconds: queued, preprocessSeconds: p.preprocessSeconds,
                                                        inferenceSeconds: seconds, batchSize: prepared.count)))
            }
        } catch {
            for (job, _, _) in prepared { job.box.finish(.failure(error)) }
        }
    }
}

/// Concatenating requests along the batch dimension and slicing the outputs back.
enum TensorBatching {
    /// Concatenates float32 inputs along dim 0.
    /// - Returns: The merged inputs and each request's row count.
    /// - Throws: ``ServeError/badRequest(_:)`` when the non-batch dims of the requests differ.
    static func concatenate(_ requests: [[String: Tensor]]) throws -> (inputs: [String: Tensor], rows: [Int]) {
        let first = requests[0]
        let rows = requests.map { $0.values.first?.shape.first ?? 1 }
        var merged: [String: Tensor] = [:]
        for (name, t0) in first {
            let tail = Array(t0.shape.dropFirst())
            var parts: [Tensor] = []
            for r in requests {
                guard let t = r[name], Array(t.shape.dropFirst()) == tail, t.dtype == .float32 else {
                    throw ServeError.badRequest("requests batched together disagree on input '\(name)'")
                }
                parts.append(t)
            }
            var out = try Tensor(zeros: [rows.reduce(0, +)] + tail, dtype: .float32)
            try out.withUnsafeMutableBufferPointer(as: Float.self) { dst in
                var offset = 0
                for p in parts {
                    try p.withUnsafeBufferPointer(as: Float.self) { src in
                        (dst.baseAddress! + offset).update(from: src.baseAddress!, count: src.count)
                        offset += src.count
                    }
                }
            }
            merged[name] = out
        }
        return (merged, rows)
    }

    /// Slices every output along dim 0 into `rows.count` parts.
    static func split(_ outputs: [String: Tensor], rows: [Int]) throws -> [[String: Tensor]] {
        var parts = Array(repeating: [String: Tensor](), count: rows.count)
        let total = rows.reduce(0, +)
        for (name, t) in outputs {
            guard t.shape.first == total, t.dtype == .float32 else {
                throw ServeError.internalError("output '\(name)' of shape \(t.shape) cannot be split into batch rows \(rows)")
            }
            let tail = Array(t.shape.dropFirst())
            let rowCount = tail.reduce(1, *)
            try t.withUnsafeBufferPointer(as: Float.self) { src in
                var offset = 0
                for (i, r) in rows.enumerated() {
                    var piece = try Tensor(zeros: [r] + tail, dtype: .float32)
                    try piece.withUnsafeMutableBufferPointer(as: Float.self) { dst in
                        dst.baseAddress!.update(from: src.baseAddress! + offset, count: r * rowCount)
                    }
                    offset += r * rowCount
                    parts[i][name] = piece
                }
            }
        }
        return parts
    }
}
