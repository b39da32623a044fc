import Foundation
import Kiln

/// The transforms that turn an image into a model's input tensor, as a torchvision v1
/// `transforms.Compose` applies them to a PIL image (docs/format.md §4.4).
///
/// Geometric steps (``Resize``, ``CenterCrop``) work on 8-bit RGB pixels exactly as Pillow does;
/// `to_tensor` divides by 255 in float32 into `[1, 3, H, W]`; ``Normalize`` subtracts and divides
/// in float32. The result equals torchvision's bit for bit wherever the pixels do.
public struct Preprocessing: Sendable, Equatable {
    /// One step of the pipeline.
    public enum Step: Sendable, Equatable {
        /// `{"op": "resize", ...}`.
        case resize(Resize)
        /// `{"op": "center_crop", ...}`.
        case centerCrop(CenterCrop)
        /// `{"op": "to_tensor"}`: uint8 HWC → float32 CHW in [0, 1].
        case toTensor
        /// `{"op": "normalize", ...}`.
        case normalize(Normalize)
    }

    /// Channel order of the output tensor.
    public enum ColorOrder: String, Sendable, CaseIterable {
        /// Channel 0 red, 1 green, 2 blue (torchvision).
        case rgb = "RGB"
        /// Channel 0 blue, 1 green, 2 red (Caffe/OpenCV-trained models).
        case bgr = "BGR"
    }

    /// Name of the graph input the tensor feeds.
    public let input: String
    /// Channel order of the tensor; `normalize` statistics are given in this order.
    public let color: ColorOrder
    /// Apply the EXIF orientation when decoding files.
    public let exifTranspose: Bool
    /// Alpha handling when decoding files.
    public let alpha: AlphaHandling
    /// The steps, in order: geometric steps, `to_tensor`, then `normalize` steps.
    public let steps: [Step]

    /// A pipeline from its parts.
    /// - Parameters:
    ///   - input: Graph input name (default `"input"`), non-empty.
    ///   - color: Tensor channel order (default RGB).
    ///   - exifTranspose: Apply EXIF orientation when decoding (default `false`).
    ///   - alpha: Alpha handling when decoding (default drop).
    ///   - steps: Zero or more `resize`/`center_crop`, exactly one `to_tensor`, then zero or more
    ///     `normalize`.
    /// - Throws: ``KilnImageError/invalidPreprocessing(step:key:reason:)`` naming the misplaced step.
    public init(input: String = "input", color: ColorOrder = .rgb, exifTranspose: Bool = false,
                alpha: AlphaHandling = .drop, steps: [Step]) throws {
        guard !input.isEmpty else { throw KilnImageError.invalidPreprocessing(step: nil, key: "input", reason: "must be a non-empty string") }
        var sawTensor = false
        for (i, step) in steps.enumerated() {
            switch step {
            case .resize, .centerCrop:
                if sawTensor {
                    throw KilnImageError.invalidPreprocessing(step: i, key: "op", reason: "geometric steps must come before to_tensor (Kiln resizes 8-bit pixels as Pillow does)")
                }
            case .toTensor:
                if sawTensor { throw KilnImageError.invalidPreprocessing(step: i, key: "op", reason: "to_tensor appears twice") }
                sawTensor = true
            case .normalize:
                if !sawTensor { throw KilnImageError.invalidPreprocessing(step: i, key: "op", reason: "normalize must come after to_tensor") }
            }
        }
        guard sawTensor else { throw KilnImageError.invalidPreprocessing(step: nil, key: "steps", reason: "there is no to_tensor step") }
        self.input = input
        self.color = color
        self.exifTranspose = exifTranspose
        self.alpha = alpha
        self.steps = steps
    }

    /// torchvision's ImageNet evaluation transform: Resize(256, bilinear), CenterCrop(224),
    /// ToTensor, Normalize(mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]).
    public static let imagenet: Preprocessing = try! Preprocessing(steps: [
        .resize(try! Resize(size: .shorterSide(256), interpolation: .bilinear)),
        .centerCrop(try! CenterCrop(height: 224, width: 224)),
        .toTensor,
        .normalize(Normalize.imagenet),
    ])

    /// The decoding options this pipeline implies (EXIF, alpha) with the given pixel limit.
    public func decodingOptions(maxPixels: Int = 100_000_000) -> DecodingOptions {
        DecodingOptions(maxPixels: maxPixels, exifTranspose: exifTranspose, alpha: alpha)
    }

    // MARK: Running

    /// The 8-bit image after the geometric steps (the PIL image just before `ToTensor`).
    /// - Throws: ``KilnImageError`` from a transform.
    public func resizedImage(_ image: RGBImage) throws -> RGBImage {
        var image = image
        for step in steps {
            switch step {
            case let .resize(r): image = try r(image)
            case let .centerCrop(c): image = try c(image)
            case .toTensor, .normalize: return image
            }
        }
        return image
    }

    /// Decodes `data` (JPEG or PNG, with this pipeline's EXIF and alpha options) and applies the
    /// geometric steps.
    /// - Throws: ``KilnImageError`` from decoding or a transform.
    public func resizedImage(imageData data: Data, source: String = "<memory>", maxPixels: Int = 100_000_000) throws -> RGBImage {
        try resizedImage(ImageDecoder.decode(data, options: decodingOptions(maxPixels: maxPixels), source: source))
    }

    /// Runs the whole pipeline on decoded pixels.
    /// - Returns: A float32 tensor `[1, 3, H, W]` in ``color`` order.
    /// - Throws: ``KilnImageError`` from a transform, `KilnError` if the tensor cannot be allocated.
    public func tensor(_ image: RGBImage) throws -> Tensor {
        let resized = try resizedImage(image)
        let h = resized.height, w = resized.width, plane = h * w
        var tensor = try Tensor(zeros: [1, 3, h, w], dtype: .float32)
        let normalizations: [Normalize] = steps.compactMap { if case let .normalize(n) = $0 { return n } else { return nil } }
        let order = color == .rgb ? [0, 1, 2] : [2, 1, 0]
        try tensor.withUnsafeMutableBufferPointer(as: Float.self) { out in
            resized.pixels.withUnsafeBufferPointer { px in
                let src = px.baseAddress!, dst = out.baseAddress!
                for c in 0..<3 {
                    let sc = order[c]
                    let plane0 = dst + c * plane
                    // ToTensor: float32(x) / 255, a true division as torch computes it.
                    for i in 0..<plane { plane0[i] = Float(src[3 * i + sc]) / 255 }
                    for n in normalizations {
                        let m = n.mean.count == 3 ? n.mean[c] : n.mean[0]
                        let s = n.std.count == 3 ? n.std[c] : n.std[0]
                        for i in 0..<plane { plane0[i] = (plane0[i] - m) / s }
                    }
                }
            }
        }
        return tensor
    }

    /// Decodes `data` and runs the whole pipeline.
    /// - Returns: A float32 tensor `[1, 3, H, W]`.
    /// - Throws: ``KilnImageError`` from decoding or a transform.
    public func tensor(imageData data: Data, source: String = "<memory>", maxPixels: Int = 100_000_000) throws -> Tensor {
        try tensor(ImageDecoder.decode(data, options: decodingOptions(maxPixels: maxPixels), source: source))
    }

    /// Reads, decodes and preprocesses an image file.
    /// - Returns: A float32 tensor `[1, 3, H, W]`.
    /// - Throws: ``KilnImageError`` (`.io` when the file cannot be read).
    public func tensor(contentsOf url: URL, maxPixels: Int = 100_000_000) throws -> Tensor {
        try tensor(ImageDecoder.decode(contentsOf: url, options: decodingOptions(maxPixels: maxPixels)))
    }
}
