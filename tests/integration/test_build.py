"""`modelyard build`: a container context with the verified model, pinned requirements, a
non-root Dockerfile with a health check, and manifests valid against Kubernetes' schemas."""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import kubernetes_validate
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.fixtures.stores import free_port

import modelyard as yard
from modelyard.cli.main import main
from modelyard.errors import InvalidArgument
from modelyard.serving.container.build import build, dockerfile, k8s_name
from modelyard.serving.container.manifests import manifests
from modelyard.serving.container.options import STATE, BuildOptions
from modelyard.serving.container.wheelhouse import Target

K8S_VERSION = "1.30.0"


def _register(tmp_path: Path) -> tuple[str, LogisticRegression, pd.DataFrame]:
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    frame = pd.DataFrame({"tenure": np.arange(100) % 72, "charges": np.linspace(20, 90, 100)})
    model = LogisticRegression().fit(frame, (frame.tenure < 12).astype(int))
    with yard.start_run():
        yard.models.log_model(
            model, "model", input_example=frame.head(5), registered_model_name="Churn_Model"
        )
    yard.Client().set_alias("Churn_Model", "champion", 1)
    return uri, model, frame


def test_manifests_are_valid_and_the_dockerfile_installs_from_its_wheels_alone() -> None:
    docs = manifests("churn-model", "modelyard/churn-model:1", BuildOptions(kserve=True))
    assert set(docs) == {"deployment", "service", "hpa", "inferenceservice"}
    for kind in ("deployment", "service", "hpa"):
        kubernetes_validate.validate(docs[kind], K8S_VERSION, strict=True)  # raises if invalid
    container = docs["deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "modelyard/churn-model:1"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert docs["inferenceservice"]["apiVersion"] == "serving.kserve.io/v1beta1"
    docker = dockerfile("churn-model", 1, Target(machine="aarch64", python="3.12"))
    assert "USER 10001" in docker and "HEALTHCHECK" in docker and "/v2/health/ready" in docker
    assert '"churn-model=/srv/model"' in docker
    assert "FROM --platform=linux/arm64 python:3.12-slim-bookworm" in docker
    (install,) = [line for line in _instructions(docker) if "pip install" in line]
    assert "--no-index --find-links /wheels" in install


def test_a_broken_manifest_would_be_caught_and_bad_options_are_refused(tmp_path: Path) -> None:
    doc = manifests("m", "img", BuildOptions())["deployment"]
    doc["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    with pytest.raises(InvalidArgument, match="max_replicas"):
        build("x", tmp_path / "o", options=BuildOptions(replicas=3, max_replicas=2))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(InvalidArgument, match="not empty"):
        build("x", tmp_path / "full", options=BuildOptions())
    assert k8s_name("Churn_Model.v2") == "churn-model-v2" and k8s_name("9lives") == "m-9lives"
    with pytest.raises(InvalidArgument, match="linux/amd64 or linux/arm64"):
        build("x", tmp_path / "o", options=BuildOptions(platform="windows/amd64"))


def _instructions(dockerfile_text: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile_text)
    return [line.strip() for line in joined.splitlines() if line.strip() and line[0] != "#"]


@dataclass
class Image:
    """What the Dockerfile does, mapped onto the context on this machine."""

    env: dict[str, str]
    runs: list[list[str]]
    entrypoint: list[str]
    workdir: str  # where the entry point runs


def _mapped(text: str, volumes: dict[str, Path]) -> str:
    """``text`` with a folder of the image that is a volume replaced by its local folder."""
    for inside, here in volumes.items():
        text = re.sub(rf"(^|=){re.escape(inside)}(?=/|$)", rf"\g<1>{here}", text)
    return text


def _image(context: Path, volumes: dict[str, Path] | None = None) -> Image:
    """Read the Dockerfile as a builder would: ENV, WORKDIR, COPY and RUN --mount=type=bind
    name paths in the image; each is replaced by the file of the context it holds, and a
    folder in ``volumes`` (the pod's writable volumes) by the local folder given for it."""
    env: dict[str, str] = {}
    workdir, paths, runs, entrypoint = "/", {}, [], []
    volumes = volumes or {}
    for line in _instructions((context / "Dockerfile").read_text()):
        word, _, rest = line.partition(" ")
        if word == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))
        elif word == "WORKDIR":
            workdir = posixpath.join(workdir, rest)
        elif word == "COPY":
            src, dst = [t for t in shlex.split(rest) if not t.startswith("--")]
            dst = posixpath.join(workdir, dst)
            dst = posixpath.join(dst, src) if dst.endswith("/") and not src.endswith("/") else dst
            paths[dst.rstrip("/")] = context / src
        elif word == "RUN":
            tokens = shlex.split(rest)
            mounts = dict(paths)
            while tokens[0].startswith("--mount="):
                opts = dict(o.split("=", 1) for o in tokens.pop(0)[8:].split(","))
                assert opts["type"] == "bind"
                mounts[opts["target"]] = context / opts["source"]

            runs.append([str(mounts.get(posixpath.join(workdir, t), t)) for t in tokens])
        elif word == "ENTRYPOINT":
            entrypoint = [str(paths.get(t, t)) for t in json.loads(rest)]
            entrypoint = [
                re.sub(r"=(/\S+)$", lambda m: f"={paths.get(m[1], m[1])}", t) for t in entrypoint
            ]
    env = {k: _mapped(v, volumes) for k, v in env.items()}
    entrypoint = [_mapped(t, volumes) for t in entrypoint]
    return Image(env, runs, entrypoint, _mapped(workdir, volumes))


def test_the_server_writes_only_where_the_deployment_gives_it_a_volume(tmp_path: Path) -> None:
    """The Deployment's root filesystem is read-only: HOME, the prediction log and the folder
    the server runs in (the embedded store's, without MODELYARD_TRACKING_URI) must all be on
    one of its volumes, and the operator finds where the store goes in the manifest."""
    (tmp_path / "Dockerfile").write_text(dockerfile("m", 1, Target(machine="x86_64")))
    image = _image(tmp_path)
    doc = manifests("m", "img", BuildOptions())["deployment"]
    spec = doc["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    assert {v["name"] for v in spec["volumes"]} == {m["name"] for m in container["volumeMounts"]}
    command = image.entrypoint
    written = {
        "HOME": image.env["HOME"],
        "--prediction-log": command[command.index("--prediction-log") + 1],
        "WORKDIR": image.workdir,
    }
    for what, path in written.items():
        assert any(path == m or path.startswith(m + "/") for m in mounts), (what, path, mounts)
    assert {"name": "MODELYARD_TRACKING_URI", "value": ""} in container["env"]
    assert "MODELYARD_TRACKING_URI" in (tmp_path / "Dockerfile").read_text()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_context_installs_offline_in_a_fresh_environment_and_serves_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`modelyard build`, then what the image would do, in a new virtual environment instead
    of a container: the Dockerfile's RUN lines (pip from the context's wheels alone, with no
    pip configuration and no index) and its ENTRYPOINT, on loopback; the served prediction is
    the model's own."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # building the context must not download either
    uri, model, frame = _register(tmp_path)
    out = tmp_path / "build"
    code = main(["build", "models:/Churn_Model@champion", "-o", str(out), "-t", uri, "--kserve"])
    printed = capsys.readouterr()
    assert code == 0, printed
    copy = yard.models.load(out / "model")  # the model, verified again from the copy
    assert copy.runtime == "onnx" and copy.signature is not None
    pins = (out / "requirements.txt").read_text().split()
    assert all("==" in r for r in pins) and pins[0].startswith("modelyard==")
    names = {r.split("==")[0] for r in pins}
    assert {"scikit-learn", "skops", "onnxruntime", "numpy"} <= names
    assert not names & {"torch", "skl2onnx", "onnxmltools", "xgboost", "lightgbm", "pytest"}
    wheels = sorted((out / "wheels").iterdir())
    assert len(wheels) == len(pins) and all(w.suffix == ".whl" for w in wheels)
    assert f"{len(pins)} wheels" in printed.out and "scikit-learn" in printed.out
    docs = {p.stem for p in (out / "kubernetes").glob("*.yaml")}
    assert docs == {"deployment", "service", "hpa", "inferenceservice"}

    state = tmp_path / "state"  # the pod's writable volume
    state.mkdir()
    image = _image(out, {STATE: state})
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bindir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(image.env, PIP_CONFIG_FILE=os.devnull, PATH=f"{bindir}:{env['PATH']}")
    user, install = image.runs  # the image's own user, then the install
    assert user[0] == "useradd"
    assert install[:2] == ["pip", "install"] and "--no-index" in install
    subprocess.run(
        [str(bindir / "python"), "-m", *install], env=env, check=True, cwd=out, timeout=600
    )
    where = subprocess.run(
        [str(bindir / "python"), "-c", "import modelyard; print(modelyard.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert where.stdout.startswith(str(venv))  # the installed wheel, not this checkout

    port = free_port()
    command = list(image.entrypoint)
    command[0] = str(bindir / command[0])
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    server = subprocess.Popen(command, env=env, cwd=image.workdir)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "not ready"
            time.sleep(0.3)
        rows = frame.iloc[[0, 5, 11, 12, 40, 99]]
        want = model.predict(rows).tolist()
        got = httpx.post(
            f"{base}/invocations", json={"dataframe_records": rows.to_dict(orient="records")}
        )
        assert got.status_code == 200, got.text
        assert got.json() == {"predictions": want}
        assert 0 < sum(want) < len(want)  # both classes, so the equality says something
        deadline = time.monotonic() + 10  # logged on the volume, where the pod can write
        while not list((state / "predictions").glob("*.log")):
            assert time.monotonic() < deadline, "no prediction log on the state volume"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
