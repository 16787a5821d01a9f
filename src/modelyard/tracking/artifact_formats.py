"""Turning Python objects into artifact bytes, chosen by the artifact file's extension.

``log_dict``, ``log_text``, ``log_table`` and ``log_figure`` share these encoders, so the SDK
and any later domain write the same formats. pandas/pyarrow are imported only when used.
"""

from __future__ import annotations

import io
import json
from typing import Any

import yaml

from modelyard.errors import InvalidArgument


def _ext(artifact_file: str) -> str:
    name = artifact_file.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def encode_dict(obj: Any, artifact_file: str) -> bytes:
    ext = _ext(artifact_file)
    try:
        if ext in ("yaml", "yml"):
            return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True).encode()
        return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=True).encode()
    except (TypeError, ValueError, RecursionError, yaml.YAMLError) as exc:
        raise InvalidArgument(
            f"cannot serialize the dictionary for {artifact_file!r}: {exc}", field="dictionary"
        ) from exc


def encode_table(data: Any, artifact_file: str) -> bytes:
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    ext = _ext(artifact_file)
    buf = io.BytesIO()
    if ext == "parquet":
        frame.to_parquet(buf, index=False)
    elif ext == "csv":
        frame.to_csv(buf, index=False)
    elif ext == "json":
        buf.write(frame.to_json(orient="split", index=False).encode())
    else:
        raise InvalidArgument(
            f"log_table writes .parquet, .csv or .json; got {artifact_file!r}",
            field="artifact_file",
        )
    return buf.getvalue()


def encode_figure(figure: Any, artifact_file: str) -> bytes:
    """A matplotlib figure (``savefig``) or a plotly figure (``to_html``/``to_image``)."""
    ext = _ext(artifact_file) or "png"
    buf = io.BytesIO()
    if hasattr(figure, "savefig"):
        figure.savefig(buf, format=ext)
        return buf.getvalue()
    if ext == "html" and hasattr(figure, "to_html"):
        return str(figure.to_html()).encode()
    if hasattr(figure, "to_image"):
        return bytes(figure.to_image(format=ext))
    raise InvalidArgument(
        f"log_figure needs a matplotlib or plotly figure, got {type(figure).__name__}",
        field="figure",
    )
