import Foundation
import Hummingbird
import Kiln
import KilnImage
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The Kiln inference service: the Open Inference Protocol (KServe v2 REST) and TorchServe-style
/// `/predictions` over Hummingbird 2, for models loaded once at start.
///
/// ```swift
/// let models = try InferenceServer.loadModels(at: [url], configuration: config, logger: logger)
/// let server = InferenceServer(models: models, configuration: config, logger: logger)
/// try await server.run()                       // until SIGTERM/SIGINT, then drains
/// ```
///
/// Inference runs on ``ServerConfiguration/workers`` dedicated threads behind a bounded queue per
/// model; health, metadata and metrics never wait behind it. On SIGTERM readiness turns 503 at
/// once, requests are still accepted for ``ServerConfiguration/drainDelay`` seconds, then the
/// listener closes and every accepted request completes before ``run(gracefulShutdownSignals:)`` returns.
public final class InferenceServer: Sendable {
    /// The configuration the server runs with.
    public let configuration: ServerConfiguration
    /// The served models by name.
    public let models: [String: ServedModel]
    /// The metrics `GET /metrics` exposes.
    public let metrics: ServerMetrics
    let logger: Logger
    let scheduler: InferenceScheduler
    private let state = StateBox()

    /// Creates a server for already loaded models.
    /// - Parameters:
    ///   - models: The models, each named by its ``ServedModel/name``.
    ///   - configuration: Limits, workers, listening address.
    ///   - logger: Where request and lifecycle logs go.
    public init(models: [ServedModel], configuration: ServerConfiguration, logger: Logger = Logger(label: "kiln-serve")) {
        self.configuration = configuration
        self.models = Dictionary(models.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.logger = logger
        let metrics = ServerMetrics()
        self.metrics = metrics
        for m in models { metrics.setLoadTime(model: m.name, seconds: m.loadSeconds) }
        scheduler = InferenceScheduler(models: models, workers: configuration.workers, maxQueue: configuration.maxQueue,
                                       maxBatch: configuration.maxBatch, batchDelayMicroseconds: configuration.batchDelayMicroseconds,
                                       metrics: metrics)
    }

    /// Loads every model (verify and warm-up included), in order, logging each.
    /// - Parameters:
    ///   - urls: `.kiln` files; each file's stem is its model name.
    ///   - configuration: Threads per inference, `verify`, warm-up runs.
    ///   - logger: Receives one line per loaded model (load time, SHA-256, self-test).
    /// - Returns: The models in the order of `urls`.
    /// - Throws: ``LoadError`` (a self-test drift, two models of one name) or the `KilnError` of a
    ///   file that does not load.
    public static func loadModels(at urls: [URL], configuration: ServerConfiguration, logger: Logger) throws -> [ServedModel] {
        guard !urls.isEmpty else { throw LoadError.noModels("the command line") }
        var seen = Set<String>()
        return try urls.map { url in
            let m = try ServedModel(url: url, threads: configuration.threadsPerInference, verify: configuration.verify,
                                    warmupRuns: configuration.warmupRuns)
            guard seen.insert(m.name).inserted else { throw LoadError.duplicateName(m.name) }
            logger.info("model loaded", metadata: [
                "model": .string(m.name), "path": .string(url.path), "load_s": .stringConvertible(m.loadSeconds),
                "sha256": .string(m.model.artifact.metadata.dataSHA256),
                "self_test": .string(m.selfTest.map { $0.passed ? "passed (max abs error \($0.maxAbsError))" : "failed" } ?? "skipped"),
            ])
            return m
        }
    }

    /// The `.kiln` files directly inside a directory, sorted by name.
    /// - Throws: ``LoadError/noModels(_:)`` when there are none.
    public static func modelFiles(in directory: URL) throws -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let urls = names.filter { $0.hasSuffix(".kiln") }.sorted().map { directory.appendingPathComponent($0) }
        guard !urls.isEmpty else { throw LoadError.noModels(directory.path) }
        return urls
    }

    /// The port the listener is bound to once running (useful with port 0), else `nil`.
    public var boundPort: Int? { state.withLock { $0.port } }

    /// Whether the server reports ready: listening, every model loaded, not draining.
    public var isReady: Bool { state.withLock { $0.port != nil && !$0.draining } }

    /// Runs the server until one of the signals arrives (or ``shutdown()`` is called), then drains.
    /// - Parameter gracefulShutdownSignals: Signals that start the drain (`[]` in tests).
    /// - Throws: When the address cannot be bound.
    public func run(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        let app = Application(
            responder: Responder(server: self),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "kiln-serve"),
            onServerRunning: { [self] channel in
                state.withLock { $0.port = channel.localAddress?.port }
                metrics.ready.set(Double(1))
                logger.info("ready", metadata: ["address": .string("\(configuration.host):\(channel.localAddress?.port ?? 0)"),
                                                "models": .string(models.keys.sorted().joined(separator: ",")),
                                                "workers": .stringConvertible(configuration.workers),
                                                "threads": .stringConvertible(configuration.threadsPerInference)])
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger
        )
        var groupConfig = ServiceGroupConfiguration(services: [
            // Shut down in reverse order: the drain gate first (readiness 503, drain delay),
            // then the HTTP server (stop accepting, finish in-flight requests).
            .init(service: app),
            .init(service: DrainGate(server: self)),
        ], gracefulShutdownSignals: gracefulShutdownSignals, cancellationSignals: [], logger: logger)
        groupConfig.maximumGracefulShutdownDuration = Duration.seconds(configuration.drainDelay + configuration.requestTimeout + 10)
        let serviceGroup = ServiceGroup(configuration: groupConfig)
        state.withLock { $0.group = serviceGroup }
        defer { state.withLock { $0.group = nil } }
        do {
            try await serviceGroup.run()
        } catch {
            await stopWorkers(group)
            throw error
        }
        await stopWorkers(group)
        logger.info("stopped")
    }

    private func stopWorkers(_ group: MultiThreadedEventLoopGroup) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [scheduler] in
                scheduler.shutdown()
                c.resume()
            }
        }
        try? await group.shutdownGracefully()
    }

    /// Starts the same graceful shutdown a signal would.
    public func shutdown() async {
        let group = state.withLock { $0.group }
        await group?.triggerGracefulShutdown()
    }

    /// Marks the server draining: readiness answers 503 from now on.
    func beginDrain() {
        state.withLock { $0.draining = true }
        metrics.ready.set(Double(0))
        logger.info("draining", metadata: ["delay_s": .stringConvertible(configuration.drainDelay)])
    }

}

/// Mutable lifecycle state behind a lock.
private final class StateBox: @unchecked Sendable {
    struct State {
        var port: Int?
        var draining = false
        var group: ServiceGroup?
    }
    private let lock = NSLock()
    private var value = State()
    func withLock<T>(_ body: (inout State) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// The first service to hear of a graceful shutdown: turns readiness to 503 and holds the
/// listener open for the drain delay so load balancers can stop routing here first.
private struct DrainGate: Service {
    let server: InferenceServer
    func run() async throws {
        try? await gracefulShutdown()
        server.beginDrain()
        if server.configuration.drainDelay > 0 {
            try? await Task.sleep(for: .seconds(server.configuration.drainDelay))
        }
    }
}
