import Foundation
import Kiln

/// The metadata documents of the Open Inference Protocol, with Kiln's provenance added under
/// `"kiln"` so a deployment can prove which validated artifact it serves.
enum ModelMetadata {
    /// The server's version string.
    static let version = "0.1.0"

    /// `GET /v2`.
    static func server() -> [String: Any] {
        ["name": "kiln-serve", "version": version, "extensions": ["binary_tensor_data", "classification"]]
    }

    /// `GET /v2/models/{name}`: inputs and outputs with `-1` for symbolic dims, and the artifact's
    /// data SHA-256, producer, source model and self-test outcome.
    static func model(_ m: ServedModel) -> [String: Any] {
        func tensors(_ infos: [ValueInfo]) -> [[String: Any]] {
            infos.map { i in
                ["name": i.name, "datatype": OpenInference.datatype(i.dtype),
                 "shape": i.shape.map { d -> Int in if case let .fixed(n) = d { return n } else { return -1 } }]
            }
        }
        let meta = m.model.artifact.metadata
        var kiln: [String: Any] = [
            "data_sha256": meta.dataSHA256,
            "data_sha256_verified": m.dataHashVerified,
            "producer": meta.producer,
            "source_model": meta.sourceModel,
            "created": meta.created,
            "frameworks": meta.frameworks,
            "file": m.url.lastPathComponent,
            "labels": m.model.labels?.count ?? 0,
            "load_seconds": m.loadSeconds,
            "threads_per_inference": m.model.options.threads,
        ]
        if let p = m.classifier?.preprocessing {
            kiln["preprocessing"] = ["input": p.input, "bytes_input": "send encoded JPEG/PNG images as a BYTES tensor named '\(p.input)'"]
        }
        if let r = m.selfTest {
            kiln["self_test"] = ["status": r.passed ? "passed" : "failed", "reference": r.reference,
                                 "max_abs_error": Double(r.maxAbsError), "abs_tolerance": Double(r.abs), "rel_tolerance": Double(r.rel)]
        } else {
            kiln["self_test"] = ["status": m.model.artifact.selfTest == nil ? "absent" : "skipped"]
        }
        return ["name": m.name, "versions": ["1"], "platform": "kiln", "inputs": tensors(m.model.inputs),
                "outputs": tensors(m.model.outputs), "kiln": kiln]
    }
}
