#if canImport(Glibc)
import Glibc
#endif

/// The bytes behind a ``Tensor``: either a 64-byte aligned allocation Kiln owns, or memory it
/// borrows (an mmapped artifact) and keeps alive through `owner`.
///
/// This is the one place outside `Kernels/` that holds a raw pointer. It is immutable after
/// creation except through a ``Tensor`` that holds the only reference (copy-on-write).
@usableFromInline
final class TensorStorage: @unchecked Sendable {
    /// Alignment of every allocation Kiln makes: one cache line, and enough for any SIMD load.
    static let alignment = 64

    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let byteCount: Int
    /// Keeps borrowed memory alive; `nil` for owned storage.
    let owner: AnyObject?
    /// Whether `base` was allocated here (and is freed with this object).
    @usableFromInline let ownsMemory: Bool
    /// Whether `base` may be written through a unique reference: owned memory and arena slices;
    /// never memory borrowed from a file.
    @usableFromInline let isWritable: Bool
    /// Set by ``InferenceAllocator`` on storage it hands out, so the executor can tell which
    /// allocation a step's output lives in (outputs may be views of inputs). -1 otherwise.
    var allocationTag: Int = -1
    /// Whether this is a slice of an inference arena (never returned to callers as is).
    var isArenaSlice: Bool { isWritable && !ownsMemory }

    /// Allocates `byteCount` zeroed bytes.
    /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when the system refuses the memory.
    convenience init(zeroedByteCount byteCount: Int) throws {
        try self.init(uninitializedByteCount: byteCount)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    /// Allocates `byteCount` bytes whose contents the caller will write before reading.
    /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when the system refuses the memory.
    init(uninitializedByteCount byteCount: Int) throws {
        // A zero-byte allocation still gets a valid, aligned pointer.
        let base = try Self.allocateAligned(byteCount, what: "a tensor")
        // Bind as bytes so later typed access through `bindMemory`/`assumingMemoryBound` is defined.
        base.bindMemory(to: UInt8.self, capacity: max(byteCount, 1))
        self.base = base
        self.byteCount = byteCount
        self.owner = nil
        self.ownsMemory = true
        self.isWritable = true
    }

    /// Allocations of at least this many bytes (one x86-64 huge page) start on a huge-page boundary
    /// and ask Linux for transparent huge pages (`madvise(MADV_HUGEPAGE)`; the kernel's default
    /// `enabled` mode on Debian is `madvise`).
    ///
    /// They are the packed weights and Winograd filters made at load and the inference arenas, all
    /// written in full right after allocation: with 4 KiB pages that first write takes one page
    /// fault per 4 KiB (ResNet-18 prepares about 75 MB at load, ~18 000 faults); with 2 MiB pages it
    /// takes one per 2 MiB, and later reads miss the TLB less. Only whole 2 MiB ranges inside the
    /// allocation become huge pages, so it costs no memory beyond what the allocation covers; where
    /// the kernel has no huge page to give, it uses 4 KiB pages as before.
    static let hugePageThreshold = 2 << 20

    /// `max(byteCount, 1)` bytes aligned to ``alignment`` (to 2 MiB and advised for huge pages from
    /// ``hugePageThreshold`` on) from `posix_memalign`, or a typed error when the system refuses
    /// (Swift's own allocator would end the process instead). Free with `free`.
    static func allocateAligned(_ byteCount: Int, what: String) throws -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        let huge = byteCount >= hugePageThreshold
        guard byteCount >= 0, posix_memalign(&p, huge ? hugePageThreshold : alignment, max(byteCount, 1)) == 0, let p else {
            throw KilnError.outOfMemory(what: what, byteCount: byteCount)
        }
        #if os(Linux)
        // Advice only: a kernel without THP refuses it, and the memory works the same either way.
        if huge { _ = madvise(p, byteCount & ~4095, MADV_HUGEPAGE) }
        #endif
        return p
    }

    /// Borrows `byteCount` bytes at `base`, kept alive by `owner`. Never written to.
    init(borrowing base: UnsafeRawPointer, byteCount: Int, owner: AnyObject?) {
        self.base = UnsafeMutableRawPointer(mutating: base)
        self.byteCount = byteCount
        self.owner = owner
        self.ownsMemory = false
        self.isWritable = false
    }

    /// A writable slice of an inference arena, kept alive by `arena`. The memory planner
    /// guarantees no other live tensor overlaps it while it is in use.
    init(arenaSlice base: UnsafeMutableRawPointer, byteCount: Int, arena: AnyObject) {
        self.base = base
        self.byteCount = byteCount
        self.owner = arena
        self.ownsMemory = false
        self.isWritable = true
    }

    /// A fresh owned copy of the first `byteCount` bytes. An allocation the size of one that already
    /// succeeded; if the system refuses even that, the process stops with a message (the
    /// copy-on-write paths that call this cannot throw).
    func copy() -> TensorStorage {
        let fresh: TensorStorage
        do { fresh = try TensorStorage(uninitializedByteCount: byteCount) } catch { fatalError("\(error)") }
        if byteCount > 0 { fresh.base.copyMemory(from: base, byteCount: byteCount) }
        return fresh
    }

    deinit {
        if ownsMemory { free(base) }
    }
}
