"""PyTorch models: a ``torch.export`` program (TorchScript for a scripted module), plus an ONNX
copy made by ``torch.onnx``.

Both of PyTorch's own formats unpickle on load (``torch.export.load`` says so itself), so the
native file is loaded only with ``trusted=True``. The ONNX copy is protobuf data: a model with
one predicts through ONNX Runtime without trust and without torch installed. The model takes
one tensor (batch first, the batch size free) and returns one tensor; ``predict`` takes and
returns numpy arrays. torch stays an optional extra: ``pip install 'modelyard[torch]'``.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.models.directory import ModelFiles
from modelyard.models.flavors.base import Flavor, Predict

PROGRAM_FILE = "model.pt2"
SCRIPT_FILE = "model.torchscript.pt"


@contextlib.contextmanager
def _hushed() -> Iterator[None]:
    """PyTorch's deprecation warnings and exporter chatter, kept out of the user's output."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _batch(example: Any) -> Any:
    """The example as a float tensor of at least two rows (one row would fix the batch size)."""
    import numpy as np
    import torch

    arr = np.asarray(example)
    if arr.ndim == 0:
        raise InvalidArgument(
            "the input example must have a batch dimension", field="input_example"
        )
    tensor = torch.from_numpy(np.ascontiguousarray(arr))
    return torch.cat([tensor, tensor]) if tensor.shape[0] < 2 else tensor


class PyTorchFlavor(Flavor):
    name = "pytorch"
    framework = "torch"

    def detect(self, model: Any) -> bool:
        import sys

        torch = sys.modules.get("torch")  # a torch model means torch is already imported
        return torch is not None and isinstance(model, torch.nn.Module)

    def framework_version(self) -> str | None:
        try:
            import torch
        except ImportError:
            return None
        return str(torch.__version__).split("+")[0]

    def predict_raw(self, model: Any, data: Any) -> Any:
        import numpy as np
        import torch

        with torch.no_grad():
            out = model(torch.from_numpy(np.ascontiguousarray(np.asarray(data))))
        return out.detach().cpu().numpy()

    def save(self, model: Any, root: Path, example: Any = None) -> dict[str, Any]:
        import torch

        model.eval()
        if isinstance(model, torch.jit.ScriptModule):
            with _hushed():
                torch.jit.save(model, str(root / SCRIPT_FILE))
            return {"file": SCRIPT_FILE, "format": "torchscript"}
        if example is None:
            raise InvalidArgument(
                "a PyTorch model needs an input_example (a batch of inputs) to be exported",
                field="input_example",
            )
        with _hushed():
            batch = torch.export.Dim("batch")
            args = (_batch(example),)
            program = torch.export.export(model, args, dynamic_shapes=({0: batch},))
            torch.export.save(program, str(root / PROGRAM_FILE))
        return {"file": PROGRAM_FILE, "format": "torch.export"}

    def load(self, files: ModelFiles, options: dict[str, Any], *, trusted: bool) -> Predict:
        if not trusted:
            raise PermissionDenied(
                "PyTorch's own formats unpickle when loaded; pass trusted=True only for a model "
                "from a source you trust, or load its ONNX copy (runtime='onnx'), which needs "
                "no trust",
                field="trusted",
            )
        import torch

        path = str(files.path(options.get("file", PROGRAM_FILE)))
        with _hushed():
            if options.get("format") == "torchscript":
                module = torch.jit.load(path)
            else:
                module = torch.export.load(path).module()

        def predict(data: Any) -> Any:
            return self.predict_raw(module, data)

        return predict

    def export_onnx(self, model: Any, signature: Any, example: Any, root: Path) -> dict[str, Any]:
        from modelyard.models.onnx_export import export_checked

        def native(model: Any, data: Any) -> list[Any]:
            return [self.predict_raw(model, data)]

        return export_checked(
            model, signature, example, root, _convert, ("onnxscript",), native=native
        )


def _convert(model: Any, matrix: Any) -> bytes:
    import io

    import torch

    example = _batch(matrix)
    if isinstance(model, torch.jit.ScriptModule):  # torch.export cannot read TorchScript
        buffer = io.BytesIO()
        with _hushed():
            torch.onnx.export(
                model,
                (example,),
                buffer,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                dynamo=False,
            )
        return buffer.getvalue()
    with _hushed():
        program = torch.onnx.export(
            model,
            (example,),
            input_names=["input"],
            output_names=["output"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            verbose=False,
        )
    return program.model_proto.SerializeToString()  # type: ignore[no-any-return]
