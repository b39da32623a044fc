// Artifact bytes -> Artifact -> Model (optimize, plan, prepare) -> the self-test when present.
// The header CRC is repaired after mutation so inputs reach the JSON parser and the validator.
import FuzzSupport
@testable import Kiln

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArtifact(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzLimits.apply()
    guard let data else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if bytes.count >= 64 {
        let offset = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self) }
        let length = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self) }
        if offset <= UInt64(bytes.count), length <= UInt64(bytes.count) - offset {
            let crc = bytes.withUnsafeBytes { CRC32.checksum($0.baseAddress! + Int(offset), count: Int(length)) }
            withUnsafeBytes(of: crc.littleEndian) { c in for i in 0..<4 { bytes[48 + i] = c[i] } }
        }
    }
    guard let artifact = try? Artifact(bytes: bytes, verifyDataHash: true) else { return 0 }
    guard let model = try? Model(artifact: artifact, options: .init(threads: 1)) else { return 0 }
    _ = try? model.verify()
    return 0
}

@main
enum FuzzArtifactMain {
    static func main() { runFuzzer(fuzzArtifact) }
}
