import Foundation

/// A value behind a lock, for the few pieces of state one `Model` shares between concurrent calls
/// (memory patterns, free arenas, an inference's allocation log).
///
/// A `pthread` mutex (through `NSLock`) rather than `Synchronization.Mutex`: on Linux the latter
/// waits on raw futexes, which ThreadSanitizer does not model, so `make tsan` reported every access
/// under it as a race. With a mutex the sanitizer understands, its reports are real ones.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
