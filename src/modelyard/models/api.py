"""Saving, logging and loading models: the flavor's files plus a verified ``model.yaml``.

``save_model`` writes a model directory; ``log_model`` writes one into a run's artifacts
(``runs:/<run id>/<name>``) and, with ``registered_model_name``, registers it as a new version.
``load`` accepts a local directory, a ``runs:/`` URI or a ``models:/`` URI (``models:/churn/3``,
``models:/churn@champion``), verifies every file's sha256 before anything is deserialised
(and, for a registered version, that ``model.yaml`` is the one registered), and returns a
``LoadedModel`` whose ``predict`` enforces the signature.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import AlreadyExists, InvalidArgument
from modelyard.models.directory import MODEL_FILE, ModelSpec, TamperedModel, read_spec, write_spec
from modelyard.models.flavors.base import Flavor, detect_flavor, get_flavor
from modelyard.models.loaded import LoadedModel, Runtime, choose_runtime
from modelyard.models.signature import Signature, enforce, infer_signature

if TYPE_CHECKING:
    from modelyard.registry.entities import ModelVersion

EXAMPLE_FILE = "input_example.json"


@dataclass(frozen=True)
class ModelInfo:
    uri: str
    flavor: str
    signature: Signature | None
    run_id: str | None = None
    model_digest: str | None = None
    registered_model_name: str | None = None
    version: int | None = None

    @property
    def model_uri(self) -> str:
        """``models:/name/version`` when registered, else the ``runs:/`` URI."""
        if self.registered_model_name is not None:
            return f"models:/{self.registered_model_name}/{self.version}"
        return self.uri


def _version_of(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _write_example(root: Path, example: Any) -> str:
    import pandas as pd

    frame = example if isinstance(example, pd.DataFrame) else None
    if frame is None and isinstance(example, list):
        frame = pd.DataFrame(example)
    if frame is not None:
        (root / EXAMPLE_FILE).write_text(frame.to_json(orient="split", date_format="iso"))
    else:
        import json

        import numpy as np

        arr = np.asarray(example)
        (root / EXAMPLE_FILE).write_text(
            json.dumps({"data": arr.tolist(), "dtype": str(arr.dtype)})
        )
    return EXAMPLE_FILE


def save_model(
    model: Any,
    path: str | Path,
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    flavor: str | None = None,
    metadata: dict[str, Any] | None = None,
    requirements: list[str] | None = None,
    onnx: bool = True,
) -> ModelSpec:
    """Write ``model`` as a model directory at ``path`` (which must not exist or be empty)."""
    root = Path(path)
    if root.exists() and any(root.iterdir()):
        raise InvalidArgument(f"{str(root)!r} exists and is not empty", field="path")
    chosen: Flavor = get_flavor(flavor) if flavor else detect_flavor(model)
    if signature is None and input_example is not None:
        output = None
        try:
            output = chosen.predict_raw(
                model, enforce(infer_signature(input_example), input_example)
            )
        except Exception:  # noqa: BLE001 - the output spec is optional; the save is not
            output = None
        signature = infer_signature(input_example, output)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-model-", dir=_parent(root)))
    try:
        options = chosen.save(model, staging, input_example)
        exported = (
            chosen.export_onnx(model, signature, input_example, staging)
            if onnx
            else {"status": "skipped", "reason": "onnx=False"}
        )
        example = _write_example(staging, input_example) if input_example is not None else None
        versions = {"modelyard": _version_of("modelyard") or "dev"}
        if chosen.framework:
            versions[chosen.framework] = chosen.framework_version() or "unknown"
        pinned = requirements or [f"{k}=={v}" for k, v in versions.items() if k != "modelyard"]
        spec = ModelSpec(
            flavor=chosen.name,
            flavor_options=options,
            signature=signature,
            files={},
            input_example=example,
            requirements=pinned,
            versions=versions,
            metadata=dict(metadata or {}),
            created_time=int(time.time() * 1000),
            onnx=exported,
        )
        write_spec(staging, spec)
        if root.exists():
            root.rmdir()
        staging.rename(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return spec


def _parent(root: Path) -> Path:
    parent = root.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def load_dir(
    path: str | Path, *, trusted: bool = False, runtime: Runtime = "auto", onnx_threads: int = 0
) -> LoadedModel:
    """Verify every file of the directory, then load what ``runtime`` predicts with."""
    root = Path(path)
    spec = read_spec(root, verify=True)
    model = LoadedModel(spec, root, choose_runtime(spec, runtime), trusted, onnx_threads)
    if model.runtime == "onnx":
        model.session()
    else:
        model.native()  # refuses untrusted pickles and foreign types now, not at predict
    return model


def model_digest(root: Path) -> str:
    """The sha256 of ``model.yaml``, which lists the sha256 of every file: the model's identity."""
    return hashlib.sha256((root / MODEL_FILE).read_bytes()).hexdigest()


def _download(run_id: str, rel: str, tracking_uri: str | None) -> Path:
    from modelyard.tracking.client import Client

    target = Path(tempfile.mkdtemp(prefix="modelyard-model-"))
    return Path(Client(tracking_uri).download_artifacts(run_id, rel, target))


def _split_runs_uri(text: str) -> tuple[str, str]:
    run_id, _, rel = text[len("runs:/") :].partition("/")
    if not run_id or not rel:
        raise InvalidArgument(f"{text!r} must look like runs:/<run id>/<path>", field="uri")
    return run_id, rel


def _load_registered(
    text: str, trusted: bool, tracking_uri: str | None, runtime: Runtime, onnx_threads: int
) -> LoadedModel:
    from modelyard.config import Settings
    from modelyard.registry.client import RegistryClient
    from modelyard.registry.names import is_sha256

    settings = Settings.from_env()
    found = RegistryClient(tracking_uri, settings=settings).resolve_model_uri(text)
    if found.model_digest is not None and not is_sha256(found.model_digest):
        raise TamperedModel(f"{text}: the registered digest is not a sha256", field="model_digest")
    cached = settings.cache_dir / "models" / (found.model_digest or "-")
    if found.model_digest and (cached / MODEL_FILE).is_file():
        root = cached  # verified below like any directory: a changed cache is refused
    elif found.source.startswith("runs:/"):
        root = _download(*_split_runs_uri(found.source), tracking_uri)
        if found.model_digest:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # another process cached it first
                root.rename(cached)
                root = cached
    else:  # a version made before sources were checked: its folder is not the store's own
        raise InvalidArgument(
            f"{text}: its source {found.source[:200]!r} is outside the store, so it cannot be "
            "verified; register the model again (modelyard.models.register_model uploads a folder)",
            field="source",
        )
    if not found.model_digest:
        raise TamperedModel(
            f"{text}: the version records no model digest, so its files cannot be verified",
            field="model_digest",
        )
    if model_digest(root) != found.model_digest:
        raise TamperedModel(
            f"{text} ({found.uri}): {MODEL_FILE} is not the one registered (sha256 "
            f"{found.model_digest[:12]}...); the stored model was replaced",
            field=MODEL_FILE,
        )
    return load_dir(root, trusted=trusted, runtime=runtime, onnx_threads=onnx_threads)


def load(
    uri: str | Path,
    *,
    trusted: bool = False,
    tracking_uri: str | None = None,
    runtime: Runtime = "auto",
    onnx_threads: int = 0,
) -> LoadedModel:
    """Load a model from a directory, ``runs:/<run id>/<path>`` or ``models:/<name>/<version>``
    (``models:/<name>@<alias>``, ``models:/<name>/latest``); refuses tampered files and
    (without ``trusted=True``) anything that would run code on load. ``runtime``: ``auto``
    predicts with the checked ONNX copy when there is one, ``native`` with the framework,
    ``onnx`` insists on the copy. ``onnx_threads``: ONNX Runtime's intra-op threads (0: all
    cores; a server with several worker processes gives each a share)."""
    text = str(uri)
    if text.startswith("models:/"):
        return _load_registered(text, trusted, tracking_uri, runtime, onnx_threads)
    if text.startswith("runs:/"):
        root = _download(*_split_runs_uri(text), tracking_uri)
        return load_dir(root, trusted=trusted, runtime=runtime, onnx_threads=onnx_threads)
    if "://" in text and not text.startswith("file://"):
        raise InvalidArgument(
            f"unsupported model URI {text!r}: use a folder, runs:/<run id>/<path> or "
            "models:/<name>/<version>",
            field="uri",
        )
    return load_dir(
        text.removeprefix("file://"), trusted=trusted, runtime=runtime, onnx_threads=onnx_threads
    )


def log_model(
    model: Any,
    name: str = "model",
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    flavor: str | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    registered_model_name: str | None = None,
    tags: dict[str, str] | None = None,
) -> ModelInfo:
    """Save ``model`` into the active run's (or ``run_id``'s) artifacts under ``name``; with
    ``registered_model_name``, register it as that model's next version (``tags`` on it)."""
    from modelyard.tracking import fluent

    if registered_model_name is not None:
        from modelyard.registry.names import check_model_name

        check_model_name(registered_model_name, "registered_model_name")  # before any upload
    if run_id is None:
        active = fluent.active_run()
        if active is None:
            raise InvalidArgument("log_model needs an active run or run_id", field="run_id")
        run_id = active.info.run_id
    fluent.flush()
    if fluent._client().list_artifacts(run_id, name):
        # a second model under the same path would replace the first one's files, and a
        # version registered from them would then refuse to load (its digest no longer fits)
        raise AlreadyExists(
            f"run {run_id} already holds a model at {name!r}; log this one under another name",
            field="name",
        )
    with tempfile.TemporaryDirectory(prefix="modelyard-model-") as tmp:
        local = Path(tmp) / Path(name).name
        spec = save_model(
            model,
            local,
            input_example=input_example,
            signature=signature,
            flavor=flavor,
            metadata=metadata,
        )
        digest = model_digest(local)
        client = fluent._client()
        client.log_artifacts(run_id, local, name)
    info = ModelInfo(f"runs:/{run_id}/{name}", spec.flavor, spec.signature, run_id, digest)
    if registered_model_name is None:
        return info
    from modelyard.registry.client import RegistryClient

    registry = RegistryClient(client.tracking_uri, settings=client.settings)
    version = registry.create_model_version(
        registered_model_name,
        info.uri,
        run_id=run_id,
        flavor=spec.flavor,
        model_digest=digest,
        signature=spec.signature.to_dict() if spec.signature else None,
        tags=tags,
    )
    return dataclasses.replace(
        info, registered_model_name=registered_model_name, version=version.version
    )


def _registration_experiment(client: Any) -> str:
    """Where the run of an uploaded folder goes: the experiment ``<project>-registered`` of
    MODELYARD_PROJECT (made on first use), else ``Default`` (the ``default`` project's)."""
    project = client.settings.project
    if project is None:
        experiment = client.get_experiment_by_name("Default")
        return str(experiment.experiment_id) if experiment else "0"
    named = f"{project}-registered"
    experiment = client.get_experiment_by_name(named)
    if experiment is not None:
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(named))
    except AlreadyExists:  # made meanwhile, or a name another project holds
        again = client.get_experiment_by_name(named)
        if again is None:
            raise
        return str(again.experiment_id)


def register_model(
    model_uri: str | Path,
    name: str,
    *,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    tracking_uri: str | None = None,
) -> ModelVersion:
    """Register a model as the next version of ``name``: a ``runs:/<run id>/<path>`` logged to
    the store as it is, or a model folder on this machine, verified here and then uploaded
    into the store (as the artifacts of a run named ``register <name>``) so that what any host
    loads later is the store's own copy, checked against its sha256."""
    from modelyard.registry.client import RegistryClient
    from modelyard.registry.names import check_model_name
    from modelyard.tracking.client import Client

    check_model_name(name, "name")
    client = Client(tracking_uri)
    text = str(model_uri)
    run_id: str | None = None
    if text.startswith("runs:/"):
        source = text  # checked by the registry, against the store's own catalogue
    elif "://" in text and not text.startswith("file://"):
        raise InvalidArgument(
            f"register a runs:/<run id>/<path> URI or a model folder, not {text[:200]!r}",
            field="model_uri",
        )
    else:
        folder = Path(text.removeprefix("file://"))
        if not folder.is_dir():
            raise InvalidArgument(
                f"{text[:200]!r} is neither runs:/<run id>/<path> nor a model folder on this "
                "machine",
                field="model_uri",
            )
        read_spec(folder, verify=True)  # a tampered or partial folder is refused here
        run = client.create_run(
            _registration_experiment(client),
            run_name=f"register {name}",
            tags={"modelyard.registered_from": folder.name},
        )
        run_id, rel = run.info.run_id, "model"
        client.flush()
        try:
            client.log_artifacts(run_id, folder, rel)
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id)
        client.flush()
        source = f"runs:/{run_id}/{rel}"
    registry = RegistryClient(client.tracking_uri, settings=client.settings)
    version = registry.create_model_version(
        name, source, run_id=run_id, description=description, tags=tags
    )
    return version
