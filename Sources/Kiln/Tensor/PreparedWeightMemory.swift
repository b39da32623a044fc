#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for the weights ops prepare at load — packed GEMM operands, Winograd filters, blocked
/// depthwise filters — carved from 8 MiB slabs instead of one `posix_memalign` each.
///
/// A slab is one allocation of ``TensorStorage/hugePageThreshold`` size or more, so it is backed by
/// transparent huge pages: its first write takes one page fault per 2 MiB. A MobileNet or
/// SqueezeNet prepares a few hundred tensors of a few KiB to a few hundred KiB each, every one of
/// them below the huge-page threshold on its own; carved from slabs they stop costing a page fault
/// per 4 KiB. Requests of ``ownAllocationBytes`` or more get their own (huge-page) allocation, as
/// before.
///
/// Each tensor keeps its slab alive; a slab is freed when the last tensor in it is gone and it is no
/// longer the one being filled. So after every model is released, at most one slab's touched pages
/// stay allocated. Thread-safe: plans prepare ops in parallel.
enum PreparedWeightMemory {
    /// Bytes per slab.
    static let slabBytes = 8 << 20
    /// Requests at least this large are allocated on their own.
    static let ownAllocationBytes = 1 << 20

    /// One slab: an owned allocation that tensors borrow from.
    final class Slab: @unchecked Sendable {
        /// First byte (huge-page aligned).
        let base: UnsafeMutableRawPointer

        /// Allocates ``PreparedWeightMemory/slabBytes``.
        /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when the system refuses.
        init() throws {
            base = try TensorStorage.allocateAligned(PreparedWeightMemory.slabBytes, what: "prepared weights")
        }

        deinit { free(base) }
    }

    /// The slab being filled and how many of its bytes are handed out.
    private static let current = Locked<(slab: Slab?, used: Int)>((nil, 0))

    /// A `float32` tensor of shape `[count]` whose contents the caller writes before reading, in a
    /// slab when it is small.
    /// - Throws: ``KilnError`` when the size is invalid or the memory is refused.
    static func floats(_ count: Int) throws -> Tensor {
        let bytes = try Shape.byteCount([count], dtype: .float32)
        if bytes >= ownAllocationBytes { return try Tensor(uninitialized: [count], dtype: .float32) }
        // Whole cache lines, so that tensors prepared on different threads share none.
        let span = max(TensorStorage.alignment, (bytes &+ TensorStorage.alignment &- 1) & ~(TensorStorage.alignment &- 1))
        let (slab, offset) = try current.withLock { state -> (Slab, Int) in
            if state.slab == nil || state.used &+ span > slabBytes {
                state = (try Slab(), 0)
            }
            defer { state.used &+= span }
            return (state.slab!, state.used)
        }
        let storage = TensorStorage(arenaSlice: slab.base + offset, byteCount: bytes, arena: slab)
        storage.base.bindMemory(to: UInt8.self, capacity: max(bytes, 1))
        return Tensor(storage: storage, dtype: .float32, shape: [count])
    }
}
