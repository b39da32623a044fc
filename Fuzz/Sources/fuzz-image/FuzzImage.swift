// Encoded image bytes (JPEG, PNG, EXIF) -> RGB pixels -> the ImageNet preprocessing -> tensor.
import Foundation
import FuzzSupport
import KilnImage

private let pipeline = try! Preprocessing(json: """
    {"exif_transpose": true, "steps": [{"op": "resize", "size": 40, "interpolation": "bilinear", "antialias": true},
     {"op": "center_crop", "size": [32, 32]}, {"op": "to_tensor"},
     {"op": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}]}
    """)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzLimits.apply()
    guard let data else { return 0 }
    let bytes = fuzzData(data, size)
    _ = try? ImageDecoder.info(bytes, source: "fuzz")
    _ = try? pipeline.tensor(imageData: bytes, source: "fuzz", maxPixels: FuzzLimits.maxImagePixels)
    return 0
}

@main
enum FuzzImageMain {
    static func main() { runFuzzer(fuzzImage) }
}
