"""``modelyard build``: a container build context and Kubernetes manifests for one model.

The context holds everything the image installs, so building it needs no package index: the
model directory (downloaded and verified like any load), ``wheels/`` (modelyard's own wheel and
every distribution the model's flavor needs, see ``wheelhouse``), ``requirements.txt`` pinning
each of them, a Dockerfile that installs from those wheels alone and runs ``modelyard serve`` as
a non-root user with a health check, and manifests: a Deployment (readiness and liveness probes
on the protocol's health routes, a read-only root filesystem with emptyDirs at /tmp and at
``STATE``, where HOME and the prediction log are, resources), a Service, a
HorizontalPodAutoscaler and, on request, a KServe InferenceService using the same image (see
``manifests``). The context is written beside ``out`` and moved there whole, so a failed
build leaves nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from pathlib import Path

import yaml

from modelyard.errors import InvalidArgument
from modelyard.models.api import load
from modelyard.models.directory import MODEL_FILE, ModelSpec
from modelyard.models.flavors.base import BUILTIN, get_flavor
from modelyard.serving.container.manifests import manifests
from modelyard.serving.container.options import PORT, STATE, UID, BuildOptions
from modelyard.serving.container.wheelhouse import Target, Wheel, assemble, check_offline
from modelyard.terminal import count_progress

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"


@dataclass(frozen=True)
class Context:
    """What ``build`` wrote: the files by role, and the wheels in ``wheels/``."""

    files: dict[str, Path]
    wheels: list[Wheel]

    @property
    def wheels_size(self) -> int:
        return sum(w.size for w in self.wheels)


def k8s_name(name: str) -> str:
    """A DNS-1123 label from a model name (lower case, '-' for anything else, 63 chars)."""
    text = "".join(c if c in _NAME_CHARS else "-" for c in name.lower()).strip("-")[:63]
    if not text or not text[0].isalpha():
        text = ("m-" + text)[:63].rstrip("-")
    return text


def model_requirements(spec: ModelSpec) -> list[str]:
    """What serving this model needs besides modelyard: the framework pinned when it was saved,
    what its flavor's loader imports (and the distribution of a plug-in flavor), and ONNX
    Runtime when it has an ONNX copy. Versions not pinned here are the ones installed."""
    reqs = [*spec.requirements, *get_flavor(spec.flavor).load_requires]
    if spec.flavor not in BUILTIN:
        for ep in entry_points(group="modelyard.flavors", name=spec.flavor):
            if ep.dist is not None:
                reqs.append(ep.dist.name)
    if spec.onnx.get("status") == "ok":
        reqs.append("onnxruntime")
    return reqs


def dockerfile(name: str, workers: int, target: Target) -> str:
    probe = (
        "import sys, urllib.request; "
        f"sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{PORT}/v2/health/ready', "
        "timeout=2).status == 200 else 1)"
    )
    command = [
        "modelyard",
        "serve",
        f"{name}=/srv/model",
        "--host",
        "0.0.0.0",  # noqa: S104 - inside a container, the pod's network is the boundary
        "--port",
        str(PORT),
        "--workers",
        str(workers),
        "--watch-seconds",
        "0",
        "--prediction-log",
        f"{STATE}/predictions",
    ]
    quoted = ", ".join(f'"{part}"' for part in command)
    return f"""# Built by `modelyard build`: serves {name} over the Open Inference Protocol
# (/v2/...) and MLflow's /invocations on port {PORT}. Installs from wheels/ alone: no package
# index is reached. RUN --mount needs BuildKit (Docker's builder since 23.0; Podman, Buildah).
# The server writes only under {STATE} (HOME, the prediction log); it ships the log to the
# store MODELYARD_TRACKING_URI names. Without it, the predictions stay in the container (an
# embedded store under {STATE}) and are lost with it.
FROM --platform={target.docker} {target.image}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid {UID} --user-group modelyard \\
    && mkdir -p {STATE} && chown {UID}:{UID} {STATE}
WORKDIR /srv
COPY requirements.txt .
RUN --mount=type=bind,source=wheels,target=/wheels \\
    pip install --no-cache-dir --no-index --find-links /wheels -r requirements.txt
COPY --chown={UID}:{UID} model/ /srv/model/
USER {UID}
ENV HOME={STATE}
WORKDIR {STATE}
EXPOSE {PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\
  CMD ["python", "-c", "{probe}"]
ENTRYPOINT [{quoted}]
"""


def build(
    uri: str, out: str | Path, *, options: BuildOptions, tracking_uri: str | None = None
) -> Context:
    """Write the build context for ``uri`` under ``out`` (which must not exist or be empty)."""
    if options.replicas < 1 or options.max_replicas < options.replicas:
        raise InvalidArgument(
            "replicas must be at least 1 and max_replicas at least replicas", field="replicas"
        )
    if not 1 <= options.cpu_target <= 100:
        raise InvalidArgument("cpu_target must be a percentage from 1 to 100", field="cpu_target")
    target = Target.parse(options.platform)
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        raise InvalidArgument(f"{str(root)!r} exists and is not empty", field="out")
    loaded = load(uri, tracking_uri=tracking_uri)  # verified, digest checked when registered
    if uri.startswith("models:/"):
        from modelyard.config import Settings
        from modelyard.registry.client import RegistryClient

        found = RegistryClient(tracking_uri, settings=Settings.from_env()).resolve_model_uri(uri)
        base, tag = found.name, str(found.version)
    else:
        base, tag = Path(str(uri).rstrip("/")).name, "latest"
    name = k8s_name(base)
    image = options.image or f"modelyard/{name}:{tag}"
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-build-", dir=root.parent))
    try:
        wheels = _write(staging, loaded.path, loaded.spec, name, image, target, options)
        staging.chmod(0o755)  # mkdtemp's folder is private; the context is not
        if root.exists():
            root.rmdir()
        staging.rename(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = {
        "model": root / "model" / MODEL_FILE,
        "wheels": root / "wheels",
        "requirements": root / "requirements.txt",
        "dockerfile": root / "Dockerfile",
    }
    files.update({p.stem: p for p in sorted((root / "kubernetes").glob("*.yaml"))})
    return Context(files, [replace(w, path=root / "wheels" / w.path.name) for w in wheels])


def _write(
    root: Path,
    model: Path,
    spec: ModelSpec,
    name: str,
    image: str,
    target: Target,
    options: BuildOptions,
) -> list[Wheel]:
    shutil.copytree(model, root / "model")
    (root / "wheels").mkdir()
    with count_progress("wheels", None) as advance:
        wheels = assemble(model_requirements(spec), root / "wheels", target, advance)
    (root / "requirements.txt").write_text("".join(f"{w.pin}\n" for w in wheels))
    check_offline(root / "wheels", root / "requirements.txt", target)
    (root / "Dockerfile").write_text(dockerfile(name, options.workers, target))
    (root / ".dockerignore").write_text("kubernetes/\n")
    k8s = root / "kubernetes"
    k8s.mkdir()
    for kind, doc in manifests(name, image, options).items():
        (k8s / f"{kind}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return wheels
