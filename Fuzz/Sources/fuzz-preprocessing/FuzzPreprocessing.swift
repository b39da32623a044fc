// The artifact's preprocessing JSON -> Preprocessing -> applied to a small fixed image.
import Foundation
import FuzzSupport
import KilnImage

private let image = try! RGBImage(width: 23, height: 17, pixels: (0..<(23 * 17 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 37) })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPreprocessing(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzLimits.apply()
    guard let data else { return 0 }
    guard let text = String(data: fuzzData(data, size), encoding: .utf8),
          let p = try? Preprocessing(json: text) else { return 0 }
    _ = try? p.tensor(image)
    return 0
}

@main
enum FuzzPreprocessingMain {
    static func main() { runFuzzer(fuzzPreprocessing) }
}
