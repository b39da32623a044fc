#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import CKilnCPU

/// Thread-local slot for ``ThreadPool/current`` (holds an unretained pointer; the pool outlives the call).
private let currentPoolKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// Thread-local slot for the calling thread's reusable ``ThreadPool/Job`` (a retained pointer,
/// released when the thread exits).
private let callerJobKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { pointer in
        if let pointer { Unmanaged<ThreadPool.Job>.fromOpaque(pointer).release() }
    }
    return key
}()

/// A fixed set of worker threads that run the chunks of parallel loops. A model owns one pool sized
/// to its thread budget: the calling thread runs chunks too, so one inference uses at most
/// `threads` threads, and OpenBLAS (kept single-threaded, see `Sgemm`) adds none.
///
/// Jobs from concurrent callers share the same workers; each caller also works on its own job, so
/// with K concurrent inferences at most K + threads − 1 threads compute.
public final class ThreadPool: @unchecked Sendable {
    /// Total threads per parallel loop, including the caller.
    public let threads: Int

    /// A pool with one thread per active processor, for parallel loops run outside a model.
    public static let shared = ThreadPool(threads: ProcessInfo.processInfo.activeProcessorCount)

    /// The pool of the inference running on this thread, if any (see ``withCurrent(_:_:)``).
    /// Kernels that only know a thread count still run on the model's own pool through it.
    public static var current: ThreadPool? {
        pthread_getspecific(currentPoolKey).map { Unmanaged<ThreadPool>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Runs `body` with `pool` as this thread's ``current`` pool.
    public static func withCurrent<R>(_ pool: ThreadPool, _ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(currentPoolKey)
        pthread_setspecific(currentPoolKey, Unmanaged.passUnretained(pool).toOpaque())
        defer { pthread_setspecific(currentPoolKey, previous) }
        return try body()
    }
    private let state: State

    /// Starts `threads - 1` worker threads.
    /// - Parameter threads: The budget, ≥ 1. With 1, loops run on the caller only.
    public init(threads: Int) {
        self.threads = max(1, threads)
        state = State()
        for i in 0..<(self.threads - 1) {
            let s = state
            let t = Thread { s.workerLoop(slot: i &+ 1) }
            t.name = "kiln-worker-\(i)"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    deinit {
        state.stop()
    }

    /// A chunk body that captures nothing: `body(context, c)` runs chunk `c`, reading its inputs
    /// through `context`. Being `@convention(c)`, it cannot capture (not even generic type
    /// metadata), so the compiler proves that handing it to the workers allocates nothing.
    public typealias ChunkBody = @convention(c) (UnsafeMutableRawPointer, Int) -> Void

    /// Runs `body(c)` for every chunk `c` in `0..<chunks` and returns when all have finished.
    ///
    /// Costs one small heap object per loop that fans out (the escaping wrapper that
    /// `withoutActuallyEscaping` makes of `body`), so inference uses
    /// ``run(chunks:context:_:)`` instead; this form is for load-time and other cold loops.
    /// - Parameters:
    ///   - chunks: Number of independent chunks.
    ///   - body: Called concurrently for distinct chunks.
    public func run(chunks: Int, _ body: (Int) -> Void) {
        if chunks <= 0 { return }
        if chunks == 1 || threads == 1 {
            for c in 0..<chunks { body(c) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // `run` returns only after every chunk finished, so the closure never outlives this
            // call; the workers reach it through a pointer to this local, which retains nothing.
            var closure = body
            withUnsafeMutablePointer(to: &closure) { pointer in
                run(chunks: chunks, context: UnsafeMutableRawPointer(pointer)) { context, c in
                    context.assumingMemoryBound(to: ((Int) -> Void).self).pointee(c)
                }
            }
        }
    }

    /// Runs `body(context, c)` for every chunk `c` in `0..<chunks` and returns when all have
    /// finished. Allocates nothing: the job holds the function pointer and `context` as plain
    /// pointers (the caller's state lives on its stack, typically a struct passed with
    /// `withUnsafeMutablePointer`), and the job object itself is reused by the calling thread.
    /// - Parameters:
    ///   - chunks: Number of independent chunks.
    ///   - context: What `body` reads; must stay valid until `run` returns (it does when it points
    ///     into the caller's frame).
    ///   - body: Called concurrently for distinct chunks.
    public func run(chunks: Int, context: UnsafeMutableRawPointer, _ body: ChunkBody) {
        if chunks <= 0 { return }
        if chunks == 1 || threads == 1 {
            for c in 0..<chunks { body(context, c) }
            return
        }
        let job = Self.callerJob()
        job.start(chunks: chunks, homes: threads, body: body, context: context)
        defer { job.inUse = false }
        state.submit(job)
        while let c = state.claim(job, slot: 0) {
            body(context, c)
            state.finish(job)
        }
        state.wait(job)
    }

    /// This thread's job object, reused by every parallel loop it starts (so a loop allocates
    /// nothing); a fresh one for a loop started inside a chunk of another on the same thread.
    private static func callerJob() -> Job {
        if let p = pthread_getspecific(callerJobKey) {
            let job = Unmanaged<Job>.fromOpaque(p).takeUnretainedValue()
            if !job.inUse {
                job.inUse = true
                return job
            }
            let nested = Job()
            nested.inUse = true
            return nested
        }
        let job = Job()
        job.inUse = true
        pthread_setspecific(callerJobKey, Unmanaged.passRetained(job).toOpaque())
        return job
    }

    /// One parallel loop. Reused by its calling thread for loop after loop: once the caller's
    /// `wait` has seen every chunk finished, no worker touches it again (the last `finish` reads
    /// what it needs before its increment), so the next `start` races with nothing.
    final class Job: @unchecked Sendable {
        /// Written by the caller before `submit` (which publishes it under State's mutex).
        var chunks = 0
        /// The loop's chunk body and what it reads, written by the caller before `submit`. Plain
        /// pointers: the job keeps nothing alive, the caller's frame does (it outlives the loop).
        var body: ChunkBody?
        var context: UnsafeMutableRawPointer?
        /// Chunks claimed so far; guarded by State.mutex.
        var claimed = 0
        /// Each thread's home range of chunks, `homeNext[t]..<homeEnd[t]` still unclaimed (the
        /// caller is thread 0, worker `i` thread `i + 1`); guarded by State.mutex. Sized once per
        /// job object for the largest pool it served, so a loop allocates nothing after warm-up.
        var homeNext: [Int] = []
        var homeEnd: [Int] = []
        /// Home ranges in use by this loop: `min(threads, chunks)`.
        var homes = 0
        /// Chunks finished; incremented with release ordering so a caller that sees the final count
        /// (acquire) also sees every chunk's writes.
        let finished = Atomic<Int>(0)
        /// Whether a loop on the owning thread is using it (only that thread reads or writes this).
        var inUse = false

        /// Readies the job for a new loop (before it is submitted): chunk ranges of `homes` threads.
        func start(chunks: Int, homes: Int, body: ChunkBody, context: UnsafeMutableRawPointer) {
            self.chunks = chunks
            self.body = body
            self.context = context
            claimed = 0
            let n = max(1, min(homes, chunks))
            if homeNext.count < n {
                homeNext = [Int](repeating: 0, count: n)
                homeEnd = [Int](repeating: 0, count: n)
            }
            for t in 0..<n {
                homeNext[t] = chunks &* t / n
                homeEnd[t] = chunks &* (t &+ 1) / n
            }
            self.homes = n
            finished.store(0, ordering: .relaxed)
        }
    }

    final class State: @unchecked Sendable {
        private var mutex = pthread_mutex_t()
        private var workAvailable = pthread_cond_t()
        private var jobDone = pthread_cond_t()
        private var queue: [Job] = []
        private var stopping = false
        /// Jobs in `queue`, readable without the mutex so idle workers can spin on it.
        private let queued = Atomic<Int>(0)

        /// How long an idle worker, or a caller waiting for its job, polls before sleeping on a
        /// condition variable. During an inference the next parallel loop usually starts within
        /// microseconds; waking a sleeping thread costs tens of microseconds per loop, which on
        /// models with many small ops (MobileNets) was a large share of the time. Each poll executes
        /// `pause` (`kiln_cpu_relax`, ~26 ns on Zen 4: ~0.5 ms of polling in all): without it
        /// EfficientNet-B0 at 2 threads took 14.9 ms instead of 9.9 on a 2-vCPU Zen 4 VM (whose
        /// vCPUs turned out not to be SMT siblings; a tight poll also costs the hypervisor's
        /// pause-loop and memory-ordering machinery there).
        static let spinIterations = 20_000

        init() {
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&workAvailable, nil)
            pthread_cond_init(&jobDone, nil)
        }

        func submit(_ job: Job) {
            pthread_mutex_lock(&mutex)
            queue.append(job)
            queued.wrappingAdd(1, ordering: .relaxed)
            pthread_cond_broadcast(&workAvailable)
            pthread_mutex_unlock(&mutex)
        }

        /// Takes the next unclaimed chunk of `job` for thread `slot` (0: the caller), or `nil` when
        /// all are claimed.
        func claim(_ job: Job, slot: Int) -> Int? {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            return claimLocked(job, slot: slot)
        }

        /// Thread `slot` takes the next chunk of its home range — the same share of every loop, so
        /// a thread mostly reads what it wrote in the previous loop (a convolution split by channel
        /// blocks after one split the same way) from its own cache, not another core's — and, once
        /// its range is done, the last chunk of the range with the most left (a slow or stalled
        /// thread's work is taken over, as with one shared counter).
        private func claimLocked(_ job: Job, slot: Int) -> Int? {
            guard job.claimed < job.chunks else { return nil }
            let c: Int
            let home = slot < job.homes ? slot : 0
            if job.homeNext[home] < job.homeEnd[home] {
                c = job.homeNext[home]
                job.homeNext[home] &+= 1
            } else {
                var victim = 0, most = 0
                for t in 0..<job.homes where job.homeEnd[t] &- job.homeNext[t] > most {
                    most = job.homeEnd[t] &- job.homeNext[t]
                    victim = t
                }
                job.homeEnd[victim] &-= 1
                c = job.homeEnd[victim]
            }
            job.claimed &+= 1
            if job.claimed == job.chunks {
                // A plain loop rather than `firstIndex(where:)`: unspecialized (in a debug build)
                // that allocates, which would hide a real allocation from the allocation tests.
                var i = 0
                while i < queue.count {
                    if queue[i] === job {
                        queue.remove(at: i)
                        queued.wrappingSubtract(1, ordering: .relaxed)
                        break
                    }
                    i += 1
                }
            }
            return c
        }

        func finish(_ job: Job) {
            // Read before the increment: once the count is complete the caller may reuse the job.
            let chunks = job.chunks
            let done = job.finished.wrappingAdd(1, ordering: .releasing).newValue
            if done == chunks {
                // Taking the mutex orders this broadcast after a sleeping waiter's check.
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&jobDone)
                pthread_mutex_unlock(&mutex)
            }
        }

        func wait(_ job: Job) {
            var spins = 0
            while job.finished.load(ordering: .acquiring) < job.chunks {
                spins += 1
                if spins >= Self.spinIterations { break }
                kiln_cpu_relax()
            }
            if job.finished.load(ordering: .acquiring) >= job.chunks { return }
            pthread_mutex_lock(&mutex)
            while job.finished.load(ordering: .acquiring) < job.chunks { pthread_cond_wait(&jobDone, &mutex) }
            pthread_mutex_unlock(&mutex)
        }

        func stop() {
            pthread_mutex_lock(&mutex)
            stopping = true
            pthread_cond_broadcast(&workAvailable)
            pthread_mutex_unlock(&mutex)
        }

        /// Worker `slot − 1`'s loop (slot 0 is a loop's caller).
        func workerLoop(slot: Int) {
            while true {
                var spins = 0
                while queued.load(ordering: .relaxed) == 0 && spins < Self.spinIterations {
                    spins += 1
                    kiln_cpu_relax()
                }
                pthread_mutex_lock(&mutex)
                while queue.isEmpty && !stopping { pthread_cond_wait(&workAvailable, &mutex) }
                if stopping && queue.isEmpty {
                    pthread_mutex_unlock(&mutex)
                    return
                }
                let job = queue[0]
                let c = claimLocked(job, slot: slot)
                pthread_mutex_unlock(&mutex)
                if let c {
                    // Set by `start` before the job was queued (published by the mutex above); the
                    // caller cannot start its next loop before this chunk's `finish`.
                    if let body = job.body, let context = job.context { body(context, c) }
                    finish(job)
                }
            }
        }
    }
}
