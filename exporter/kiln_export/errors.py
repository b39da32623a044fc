"""Errors raised by the exporter and the artifact reader."""

from __future__ import annotations


class KilnExportError(Exception):
    """An export or validation failure.

    ``problems`` lists every individual finding (for example every unsupported node), so a caller
    can show them all at once instead of fixing one per run.
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        full = message
        if self.problems:
            full += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(full)
        self.message = message


class ArtifactError(KilnExportError):
    """A ``.kiln`` file that violates docs/format.md.

    ``field`` names the offending field (``"preamble.flags"``, ``"tensors[3].offset"``) and
    ``offset`` the absolute byte offset in the file when one is meaningful.
    """

    def __init__(self, field: str, reason: str, offset: int | None = None):
        where = field if offset is None else f"{field} (byte {offset})"
        super().__init__(f"malformed artifact: {where}: {reason}")
        self.field = field
        self.offset = offset
        self.reason = reason


def one_line(message: str, problems: list[str] | None = None, limit: int = 8) -> str:
    """``message`` (and its ``problems``, joined by ``; ``) as a single line of text.

    Messages from other libraries (ONNX Runtime, protobuf) span several lines; a command-line
    error is one line. Past ``limit`` problems the rest are counted, not listed.
    """
    text = " ".join(str(message).split())
    problems = [" ".join(str(p).split()) for p in problems or []]
    if problems:
        listed = problems[:limit]
        text += ": " + "; ".join(listed)
        if len(problems) > limit:
            text += f"; and {len(problems) - limit} more"
    return text
