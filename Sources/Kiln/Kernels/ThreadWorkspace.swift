#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-thread scratch memory for kernels (GEMM packing buffers, Winograd tiles).
///
/// Each thread keeps one 64-byte aligned buffer that only grows, so after the first inferences
/// (warm-up) kernels allocate nothing. The buffer is freed when its thread exits.
enum ThreadWorkspace {
    private final class Buffer {
        var pointer: UnsafeMutableRawPointer?
        var bytes = 0
        deinit { pointer?.deallocate() }
    }

    private static func makeKey() -> pthread_key_t {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<Buffer>.fromOpaque(raw).release() }
        }
        return key
    }

    private static let key = makeKey()
    private static let tileKey = makeKey()

    /// This thread's buffer, at least `count` floats. Valid until the next call on this thread.
    static func floats(_ count: Int) -> UnsafeMutablePointer<Float> { buffer(key, count) }

    /// A second per-thread buffer, for the small per-chunk scratch of a kernel that runs inside a
    /// parallel loop whose caller holds ``floats(_:)`` (a Winograd tile's transform space): a
    /// stack temporary over 1 KiB would be a heap allocation per chunk.
    static func tile(_ count: Int) -> UnsafeMutablePointer<Float> { buffer(tileKey, count) }

    private static func buffer(_ key: pthread_key_t, _ count: Int) -> UnsafeMutablePointer<Float> {
        let buffer: Buffer
        if let raw = pthread_getspecific(key) {
            buffer = Unmanaged<Buffer>.fromOpaque(raw).takeUnretainedValue()
        } else {
            buffer = Buffer()
            pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
        }
        let bytes = max(count, 1) &* MemoryLayout<Float>.stride
        if buffer.bytes < bytes {
            buffer.pointer?.deallocate()
            // Round up so slightly larger requests later do not reallocate.
            let size = (bytes + 65535) & ~65535
            buffer.pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            buffer.bytes = size
        }
        return buffer.pointer!.assumingMemoryBound(to: Float.self)
    }
}
