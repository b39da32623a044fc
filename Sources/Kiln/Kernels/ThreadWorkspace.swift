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

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<Buffer>.fromOpaque(raw).release() }
        }
        return key
    }()

    /// This thread's buffer, at least `count` floats. Valid until the next call on this thread.
    static func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
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
