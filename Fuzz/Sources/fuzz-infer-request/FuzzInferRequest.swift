// A KServe v2 inference request (JSON, and the binary tensor extension) -> parsed request ->
// tensors checked against a model's declared inputs. The first byte chooses whether the body
// carries binary tensors; the next two give Inference-Header-Content-Length.
import Foundation
import FuzzSupport
@testable import Kiln
@testable import KilnServer

private let inputs: [ValueInfo] = [
    ValueInfo(name: "input", dtype: .float32, shape: [.symbol("N"), .fixed(3), .fixed(4), .fixed(4)]),
    ValueInfo(name: "ids", dtype: .int64, shape: [.symbol("N"), .fixed(5)]),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInferRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzLimits.apply()
    guard let data else { return 0 }
    guard size >= 3 else { return 0 }
    let binary = data[0] & 1 == 1
    let headerLength = Int(data[1]) | Int(data[2]) << 8
    let body = Data(bytes: data + 3, count: size - 3)
    guard let request = try? OpenInference.parseRequest(body, headerLength: binary ? headerLength : nil) else { return 0 }
    for input in request.inputs {
        guard let info = inputs.first(where: { $0.name == input.name }) else { continue }
        _ = try? OpenInference.tensor(input, info: info, maxBatch: 8)
    }
    return 0
}

@main
enum FuzzInferRequestMain {
    static func main() { runFuzzer(fuzzInferRequest) }
}
