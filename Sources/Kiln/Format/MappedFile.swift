#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped read-only into memory. Tensors borrow from it without copying and keep it alive.
final class MappedFile: @unchecked Sendable {
    /// First byte of the mapping (never written).
    let base: UnsafeRawPointer
    /// Size of the file in bytes.
    let size: Int
    /// The path, for errors.
    let path: String
    private let mappedLength: Int

    /// Maps `path`.
    /// - Throws: ``KilnError/io(path:reason:)`` when the file cannot be opened, is not a regular
    ///   file, or cannot be mapped.
    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KilnError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw KilnError.io(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw KilnError.io(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        self.path = path
        self.size = size
        if size == 0 {
            // mmap refuses zero lengths; an empty file still gets a valid (empty) view.
            let p = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
            base = UnsafeRawPointer(p)
            mappedLength = 0
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw KilnError.io(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        mappedLength = size
    }

    /// Wraps bytes already in memory (tests, artifacts built in memory). The bytes are copied into
    /// a 64-byte aligned buffer so that tensor payloads keep their alignment.
    init(bytes: [UInt8], name: String = "<memory>") {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { src in
            if !src.isEmpty { p.copyMemory(from: src.baseAddress!, byteCount: src.count) }
        }
        base = UnsafeRawPointer(p)
        size = bytes.count
        path = name
        mappedLength = -1
    }

    /// Reads a little-endian integer at `offset` (caller checked bounds).
    func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    deinit {
        if mappedLength > 0 {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}
