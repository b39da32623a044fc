"""kiln-export: write PyTorch/ONNX image models as Kiln artifacts (``.kiln``, docs/format.md)."""

__version__ = "0.1.0"

from .errors import ArtifactError, KilnExportError  # noqa: E402
from .ops import SUPPORTED_OPS  # noqa: E402
from .api import ExportResult, export_module, export_onnx, preprocessing_preset, read_labels  # noqa: E402
from .reader import Artifact, read_artifact, run_with_onnxruntime  # noqa: E402

__all__ = [
    "__version__", "ArtifactError", "Artifact", "ExportResult", "KilnExportError", "SUPPORTED_OPS",
    "export_module", "export_onnx", "preprocessing_preset", "read_artifact", "read_labels",
    "run_with_onnxruntime",
]
