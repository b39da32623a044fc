import CKilnCrypto

/// CRC-32 (ISO-HDLC: polynomial 0xEDB88320 reflected, init and xor-out 0xFFFFFFFF), the checksum of
/// the artifact header. Same value as zlib's `crc32`.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32 of `count` bytes at `p`.
    static func checksum(_ p: UnsafeRawPointer, count: Int) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        table.withUnsafeBufferPointer { t in
            for i in 0..<count { c = t[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}

/// SHA-256 (FIPS 180-4), the content hash of the artifact's data section.
///
/// Computed by the system's OpenSSL libcrypto, which uses the CPU's SHA extensions (SHA-NI) or its
/// vector units: a 1 GB data section hashes in about half a second instead of the tens of seconds a
/// portable loop takes (docs/reliability.md has the figures).
enum SHA256 {
    /// The 32-byte digest of `count` bytes at `p`.
    /// - Throws: ``KilnError/allocationTooLarge(what:byteCount:)`` when OpenSSL cannot allocate its
    ///   context (a few hundred bytes): the only way `EVP_Digest` fails for a valid algorithm.
    static func digest(_ p: UnsafeRawPointer, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { o in
            EVP_Digest(p, count, o.baseAddress, &length, EVP_sha256(), nil)
        }
        guard ok == 1, length == 32 else {
            throw KilnError.allocationTooLarge(what: "libcrypto's SHA-256 context", byteCount: "a few hundred")
        }
        return Array(out.prefix(32))
    }

    /// The lowercase hex SHA-256 of `count` bytes at `p`.
    static func hex(_ p: UnsafeRawPointer, count: Int) throws -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(64)
        for byte in try digest(p, count: count) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return out
    }
}
