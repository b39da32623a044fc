import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KilnServer
import Logging
import Metrics
import Prometheus

/// `kiln-serve`: serves `.kiln` models over HTTP (Open Inference Protocol + `/predictions`).
@main
struct KilnServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln-serve",
        abstract: "Serve .kiln models over HTTP: KServe v2 / Open Inference Protocol and POST /predictions/{model}.",
        discussion: "Defaults follow the container's CPU quota (cgroup cpu.max), not the host's cores. See docs/deployment.md.")

    @Argument(help: "Model files (.kiln); each is served under its file name without the extension.")
    var models: [String] = []

    @Option(name: .customLong("model-dir"), help: "Serve every .kiln file in this directory.")
    var modelDir: String?

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind (0: any free port).")
    var port = 8080

    @Option(help: "Threads per inference (default 1).")
    var threads: Int?

    @Option(help: "Inferences that run at once (default: the CPU quota − threads + 1).")
    var workers: Int?

    @Option(name: .customLong("max-queue"), help: "Requests that may wait per model; more get 429.")
    var maxQueue = 64

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body; larger gets 413.")
    var maxBodyBytes = 32 << 20

    @Option(name: .customLong("request-timeout"), help: "Seconds a request may wait and run; then 504.")
    var requestTimeout = 30.0

    @Option(name: .customLong("max-image-pixels"), help: "Largest image (width × height) decoded; larger gets 413 before decoding.")
    var maxImagePixels = 40_000_000

    @Option(name: .customLong("max-request-batch"), help: "Largest batch (first dim, or images) one request may carry.")
    var maxRequestBatch = 64

    @Option(name: .customLong("max-batch"), help: "Dynamic batching: run up to this many queued requests of a model as one batch (1: off).")
    var maxBatch = 1

    @Option(name: .customLong("batch-delay-us"), help: "Dynamic batching: microseconds to wait for a batch to fill.")
    var batchDelayUs = 0

    @Option(name: .customLong("drain-delay"), help: "After SIGTERM, seconds readiness is 503 while requests are still accepted.")
    var drainDelay = 0.0

    @Option(name: .customLong("log-format"), help: "text or json.")
    var logFormat = "text"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Flag(name: .customLong("no-verify"), help: "Skip the start-up checks (each model's data SHA-256 and stored self-test).")
    var noVerify = false

    mutating func validate() throws {
        guard models.isEmpty != (modelDir == nil) else {
            throw ValidationError("give model files or --model-dir, not both and not neither")
        }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard (1...65535).contains(port) || port == 0 else { throw ValidationError("--port must be 0...65535") }
        guard maxQueue >= 0, maxBodyBytes > 0, requestTimeout > 0, maxImagePixels > 0, maxRequestBatch > 0, maxBatch >= 1,
              batchDelayUs >= 0, drainDelay >= 0 else {
            throw ValidationError("limits must be positive")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be ≥ 1") }
    }

    /// A long-running server allocates and frees the same large buffers (request bodies, decoded
    /// images, input tensors) on several threads. glibc's default raises its mmap threshold as such
    /// blocks are freed and then keeps them in per-thread heaps, where fragmentation grows the RSS
    /// over time; a fixed threshold (which also turns the adjustment off) returns every block of
    /// 256 KiB or more to the OS. `mallopt` is not in Swift's Glibc module, so it is looked up.
    static func fixMallocMmapThreshold() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in <malloc.h>
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 256 * 1024)
        #endif
    }

    func run() async throws {
        Self.fixMallocMmapThreshold()
        let level = Logger.Level(rawValue: logLevel)!
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            var h: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "kiln-serve")

        let cpus = CPUQuota.effectiveCPUs
        let budget = ServerConfiguration.budget(cpus: cpus, workers: workers, threads: threads)
        if let warning = budget.warning { logger.warning("\(warning)") }
        var config = ServerConfiguration(cpus: cpus)
        config.host = host
        config.port = port
        config.workers = budget.workers
        config.threadsPerInference = budget.threads
        config.maxQueue = maxQueue
        config.maxBodyBytes = maxBodyBytes
        config.requestTimeout = requestTimeout
        config.maxImagePixels = maxImagePixels
        config.maxRequestBatch = maxRequestBatch
        config.maxBatch = maxBatch
        config.batchDelayMicroseconds = batchDelayUs
        config.drainDelay = drainDelay
        config.verify = !noVerify
        logger.info("starting", metadata: ["cpus": .stringConvertible(cpus), "workers": .stringConvertible(config.workers),
                                           "threads": .stringConvertible(config.threadsPerInference)])

        let loaded: [ServedModel]
        do {
            let urls = try modelDir.map { try InferenceServer.modelFiles(in: URL(fileURLWithPath: $0)) }
                ?? models.map { URL(fileURLWithPath: $0) }
            loaded = try InferenceServer.loadModels(at: urls, configuration: config, logger: logger)
        } catch {
            logger.critical("refusing to start: \(error)")
            throw ExitCode(2)
        }
        let server = InferenceServer(models: loaded, configuration: config, logger: logger)
        // Anything in the process that reports through swift-metrics lands in the same /metrics.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: server.metrics.registry))
        try await server.run()
    }
}
