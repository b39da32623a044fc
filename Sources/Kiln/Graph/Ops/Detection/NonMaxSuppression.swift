/// Registers the detection post-processing op family.
enum DetectionOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(NonMaxSuppression.self)
    }
}

/// ONNX `NonMaxSuppression` (opset 10, 11): greedy per-class suppression of overlapping boxes, as
/// detectors exported with their post-processing end.
///
/// Inputs: `boxes [batches, boxes, 4]` (float32; `[y1, x1, y2, x2]` with either corner first, or
/// `[x_center, y_center, width, height]` with `center_point_box = 1`), `scores [batches, classes,
/// boxes]`, optional scalars `max_output_boxes_per_class` (int64, default 0: nothing is selected),
/// `iou_threshold` (float32 in `[0, 1]`, default 0) and `score_threshold` (float32; boxes need a
/// score strictly above it). Output `selected_indices [selected, 3]` (int64 `batch, class, box`),
/// per batch and class in decreasing score, ties by lower box index. A candidate is dropped when its
/// IoU with a kept box is above `iou_threshold`; boxes of zero area overlap nothing.
struct NonMaxSuppression: Operator {
    static let opType = "NonMaxSuppression"

    let centerPointBox: Bool

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["center_point_box"])
        let c = try attributes.int("center_point_box", default: 0)
        guard c == 0 || c == 1 else { throw attributes.error("center_point_box \(c) must be 0 or 1") }
        centerPointBox = c == 1
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard (2...5).contains(inputs.count) else { throw failure("expects 2 to 5 inputs, got \(inputs.count)", context: context) }
        let boxes = try input(inputs, 0, "boxes", context: context)
        let scores = try input(inputs, 1, "scores", context: context)
        try require(boxes, .float32, "boxes", context: context)
        try require(scores, .float32, "scores", context: context)
        guard boxes.rank == 3, boxes.shape[2] == 4 else {
            throw failure("boxes must be [batches, boxes, 4], got \(boxes.shape)", context: context)
        }
        let (batches, count) = (boxes.shape[0], boxes.shape[1])
        guard scores.rank == 3, scores.shape[0] == batches, scores.shape[2] == count else {
            throw failure("scores must be [\(batches), classes, \(count)] for boxes \(boxes.shape), got \(scores.shape)", context: context)
        }
        let classes = scores.shape[1]
        let maxPerClass = try scalar(inputs, 2, "max_output_boxes_per_class", .int64, context: context)
            .map { Int(try $0.scalars(as: Int64.self)[0]) } ?? 0
        let iou = try scalar(inputs, 3, "iou_threshold", .float32, context: context).map { try $0.scalars(as: Float.self)[0] } ?? 0
        guard iou >= 0, iou <= 1 else { throw failure("iou_threshold \(iou) must be in [0, 1]", context: context) }
        let scoreThreshold = try scalar(inputs, 4, "score_threshold", .float32, context: context).map { try $0.scalars(as: Float.self)[0] }
        // A NaN score threshold would select nothing silently; say so instead.
        if let t = scoreThreshold, t.isNaN { throw failure("score_threshold is NaN", context: context) }
        var selected: [Int64] = []
        if maxPerClass > 0 {
            let bp = boxes.pointer(Float.self), sp = scores.pointer(Float.self)
            var corners = [Float](repeating: 0, count: count * 4)
            for b in 0..<batches {
                for i in 0..<count { cornersOf(bp + (b * count + i) * 4, into: &corners, at: i) }
                for c in 0..<classes {
                    let s = sp + (b * classes + c) * count
                    var candidates = (0..<count).filter { scoreThreshold == nil || s[$0] > scoreThreshold! }
                    candidates.sort { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
                    var kept: [Int] = []
                    for i in candidates where kept.count < maxPerClass {
                        if kept.allSatisfy({ overlap(corners, i, $0) <= iou }) {
                            kept.append(i)
                            selected += [Int64(b), Int64(c), Int64(i)]
                        }
                    }
                }
            }
        }
        withExtendedLifetime((boxes, scores)) {}
        return [try Tensor(shape: [selected.count / 3, 3], scalars: selected)]
    }

    /// The optional scalar input `index` (rank 0 or one element) of `dtype`, `nil` when omitted.
    private func scalar(_ inputs: [Tensor?], _ index: Int, _ name: String, _ dtype: DType,
                        context: ExecutionContext) throws -> Tensor? {
        guard let t = optionalInput(inputs, index) else { return nil }
        try require(t, dtype, name, context: context)
        guard t.count == 1, t.rank <= 1 else { throw failure("\(name) must be a scalar, got shape \(t.shape)", context: context) }
        return t
    }

    /// Box `p` as `[ymin, xmin, ymax, xmax]` at slot `i` of `corners`.
    private func cornersOf(_ p: UnsafePointer<Float>, into corners: inout [Float], at i: Int) {
        if centerPointBox {
            let (xc, yc, w, h) = (p[0], p[1], p[2], p[3])
            corners[4 * i] = yc - h / 2; corners[4 * i + 1] = xc - w / 2
            corners[4 * i + 2] = yc + h / 2; corners[4 * i + 3] = xc + w / 2
        } else {
            corners[4 * i] = min(p[0], p[2]); corners[4 * i + 1] = min(p[1], p[3])
            corners[4 * i + 2] = max(p[0], p[2]); corners[4 * i + 3] = max(p[1], p[3])
        }
    }

    /// Intersection over union of boxes `i` and `j`; 0 when either has no area.
    private func overlap(_ c: [Float], _ i: Int, _ j: Int) -> Float {
        let a = 4 * i, b = 4 * j
        let areaI = (c[a + 2] - c[a]) * (c[a + 3] - c[a + 1]), areaJ = (c[b + 2] - c[b]) * (c[b + 3] - c[b + 1])
        guard areaI > 0, areaJ > 0 else { return 0 }
        let h = max(0, min(c[a + 2], c[b + 2]) - max(c[a], c[b])), w = max(0, min(c[a + 3], c[b + 3]) - max(c[a + 1], c[b + 1]))
        let inter = h * w
        return inter / (areaI + areaJ - inter)
    }
}
