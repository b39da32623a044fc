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
    /// Whether `base` was allocated here (and may be written through a unique reference).
    @usableFromInline let ownsMemory: Bool

    /// Allocates `byteCount` zeroed bytes.
    init(zeroedByteCount byteCount: Int) {
        // A zero-byte allocation still gets a valid, aligned pointer.
        let base = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        self.base = base
        self.byteCount = byteCount
        self.owner = nil
        self.ownsMemory = true
    }

    /// Allocates `byteCount` bytes whose contents the caller will write before reading.
    init(uninitializedByteCount byteCount: Int) {
        let base = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        // Bind as bytes so later typed access through `bindMemory`/`assumingMemoryBound` is defined.
        base.bindMemory(to: UInt8.self, capacity: max(byteCount, 1))
        self.base = base
        self.byteCount = byteCount
        self.owner = nil
        self.ownsMemory = true
    }

    /// Borrows `byteCount` bytes at `base`, kept alive by `owner`. Never written to.
    init(borrowing base: UnsafeRawPointer, byteCount: Int, owner: AnyObject?) {
        self.base = UnsafeMutableRawPointer(mutating: base)
        self.byteCount = byteCount
        self.owner = owner
        self.ownsMemory = false
    }

    /// A fresh owned copy of the first `byteCount` bytes.
    func copy() -> TensorStorage {
        let fresh = TensorStorage(uninitializedByteCount: byteCount)
        if byteCount > 0 { fresh.base.copyMemory(from: base, byteCount: byteCount) }
        return fresh
    }

    deinit {
        if ownsMemory { base.deallocate() }
    }
}
