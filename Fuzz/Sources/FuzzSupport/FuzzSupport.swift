import CFuzzerDriver
import Foundation
import Kiln
import KilnImage

/// Limits every fuzz target sets before it runs: no tensor above 64 MiB and no image above 1 MP, so
/// a hostile input that asks for more is rejected with a typed error well under libFuzzer's
/// `-malloc_limit_mb`.
public enum FuzzLimits {
    /// The per-tensor byte limit the targets run with.
    public static let maxTensorBytes = 64 << 20
    /// The largest decoded image the targets accept, in pixels (1024 x 1024): the pixel limit is
    /// the decoder's own check (tested at 100 MP in the unit tests); a small one keeps executions fast.
    public static let maxImagePixels = 1 << 20

    /// Applies the limits once per process.
    public static func apply() {
        _ = applied
    }

    private static let applied: Bool = {
        Shape.maxByteCount = maxTensorBytes
        RGBImage.maxPixels = maxImagePixels
        return true
    }()
}

/// The fuzz input as `Data` (copied: libFuzzer owns the buffer).
public func fuzzData(_ data: UnsafePointer<UInt8>, _ size: Int) -> Data {
    Data(bytes: data, count: size)
}

/// Runs libFuzzer with the process's arguments and `callback` as the target; never returns.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}
