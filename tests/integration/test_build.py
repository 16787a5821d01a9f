"""`modelyard build`: a container context with the verified model, pinned requirements, a
non-root Dockerfile with a health check, and manifests valid against Kubernetes' schemas."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import modelyard as yard
from modelyard.cli.main import main
from modelyard.errors import InvalidArgument
from modelyard.serving.build import BuildOptions, build, k8s_name

K8S_VERSION = "1.30.0"


def _register(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    frame = pd.DataFrame({"tenure": np.arange(100) % 72, "charges": np.linspace(20, 90, 100)})
    model = LogisticRegression().fit(frame, (frame.tenure < 12).astype(int))
    with yard.start_run():
        yard.models.log_model(
            model, "model", input_example=frame.head(5), registered_model_name="Churn_Model"
        )
    yard.Client().set_alias("Churn_Model", "champion", 1)
    return uri


def test_build_writes_a_context_and_valid_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELYARD_CACHE_DIR", str(tmp_path / "cache"))
    uri = _register(tmp_path)
    out = tmp_path / "build"
    code = main(["build", "models:/Churn_Model@champion", "-o", str(out), "-t", uri, "--kserve"])
    assert code == 0, capsys.readouterr()
    # the model, verified again from the copy
    copy = yard.models.load(out / "model")
    assert copy.runtime == "onnx" and copy.signature is not None
    reqs = (out / "requirements.txt").read_text().split()
    assert all("==" in r for r in reqs)  # every requirement pinned
    assert any(r.startswith("scikit-learn==") for r in reqs)
    assert any(r.startswith("onnxruntime==") for r in reqs)
    docker = (out / "Dockerfile").read_text()
    assert "USER 10001" in docker and "HEALTHCHECK" in docker and "/v2/health/ready" in docker
    assert '"churn-model=/srv/model"' in docker
    docs = {p.stem: yaml.safe_load(p.read_text()) for p in (out / "kubernetes").glob("*.yaml")}
    assert set(docs) == {"deployment", "service", "hpa", "inferenceservice"}
    for kind in ("deployment", "service", "hpa"):
        kubernetes_validate.validate(docs[kind], K8S_VERSION, strict=True)  # raises if invalid
    container = docs["deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "modelyard/churn-model:1"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert docs["inferenceservice"]["apiVersion"] == "serving.kserve.io/v1beta1"


def test_a_broken_manifest_would_be_caught_and_bad_options_are_refused(tmp_path: Path) -> None:
    from modelyard.serving.build import manifests

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
