import Foundation

/// Everything `kiln-serve` can be told: where to listen, how many inferences run at once and with
/// how many threads each, and the limits that protect the process from a client.
public struct ServerConfiguration: Sendable {
    /// Address to bind (`127.0.0.1`, or `0.0.0.0` in a container).
    public var host: String = "127.0.0.1"
    /// Port to bind; `0` picks a free port (see ``InferenceServer/boundPort``).
    public var port: Int = 8080
    /// Threads per inference (Kiln's per-model pool, the calling worker included).
    public var threadsPerInference: Int
    /// Inferences that run at once, across all models (worker threads; each also decodes and
    /// preprocesses its request's images).
    public var workers: Int
    /// Requests that may wait per model beyond those running; one more gets 429.
    public var maxQueue: Int = 64
    /// Largest accepted request body, in bytes; a larger one gets 413.
    public var maxBodyBytes: Int = 32 << 20
    /// Seconds a request may wait and run before it gets 504.
    public var requestTimeout: Double = 30
    /// Images whose header declares more pixels get 413 before any pixel memory is allocated.
    public var maxImagePixels: Int = 40_000_000
    /// Largest batch one request may carry (its first dimension); bounds what a client can make
    /// the server allocate through a tensor's declared shape.
    public var maxRequestBatch: Int = 64
    /// Dynamic batching: up to this many queued requests of one model run as one batch (1 = off).
    public var maxBatch: Int = 1
    /// Dynamic batching: how long a worker waits for more requests to fill a batch, in microseconds.
    public var batchDelayMicroseconds: Int = 0
    /// At start, check each model's data section against its SHA-256 and run its stored self-test;
    /// refuse to start when either fails.
    public var verify: Bool = true
    /// Inferences per model at start, before readiness, so the first request is not the slow one.
    public var warmupRuns: Int = 2
    /// After SIGTERM: seconds readiness reports 503 while requests are still accepted (so load
    /// balancers stop routing), before the listener closes and in-flight requests drain.
    public var drainDelay: Double = 0
    /// Event-loop (network I/O) threads.
    public var eventLoopThreads: Int = 1

    /// A configuration sized to the container's CPU quota: one single-threaded inference per
    /// CPU, which gives the most throughput; event loops only do I/O.
    public init(cpus: Int = CPUQuota.effectiveCPUs) {
        let cpus = max(1, cpus)
        threadsPerInference = 1
        workers = cpus
    }

    /// Chooses workers and threads for a CPU budget from whichever of the two the user gave.
    /// With `W` workers of `T` threads, Kiln computes on at most `W + T − 1` threads (the pool is
    /// shared by the model's concurrent callers), so the defaults keep that within `cpus`.
    /// - Returns: `(workers, threads)`, and a warning when explicit values oversubscribe.
    public static func budget(cpus: Int, workers: Int?, threads: Int?) -> (workers: Int, threads: Int, warning: String?) {
        let cpus = max(1, cpus)
        let t = max(1, threads ?? 1)
        let w = max(1, workers ?? max(1, cpus - t + 1))
        let busy = w + t - 1
        let warning = busy > cpus
            ? "--workers \(w) × --threads \(t) can keep \(busy) threads busy on a quota of \(cpus) CPU(s); latency will suffer"
            : nil
        return (w, t, warning)
    }
}
