"""Registry sources: a version's files are the store's own, verified when the version is made.

A source naming a path on some host (absolute, ``file://``, relative), another URL, or a run
folder that is not a whole model, is refused by the SDK, HTTP and the CLI alike, and nothing is
written (no version, no half-made model). A folder on the caller's machine is uploaded and
hashed by ``register_model``; what a host loads later is that copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.fixtures.http import error_of
from tests.fixtures.logged import log_source, saved_model, sklearn_model

import modelyard as yard
from modelyard.cli.main import main
from modelyard.errors import InvalidArgument, NotFound

RUN = "{run}"  # replaced by a real run id with a model at "model"


def _bad_sources(run_id: str, outside: Path) -> list[str]:
    return [
        str(outside),
        outside.as_uri(),
        "file://localhost" + str(outside),
        "file:" + str(outside),
        "../../" + outside.name,
        "model",
        "./model",
        "~/model",
        "s3://bucket/model",
        "http://127.0.0.1:9/model",
        "hdfs://x/model",
        "models:/other/1",
        "mlflow-artifacts:/x/model",
        f"RUNS:/{run_id}/model",
        f" runs:/{run_id}/model",
        f"runs://{run_id}/model",
        f"runs:/{run_id}",
        f"runs:/{run_id}/",
        f"runs:/{run_id}/../{run_id}/model",
        f"runs:/{run_id}/model/..",
        f"runs:/{run_id}/%2e%2e/model",
        f"runs:/{run_id}//model",
        f"runs:/{run_id}/model\\..\\x",
        f"runs:/{run_id.upper()}/model",
        "runs:/" + "0" * 32 + "/model",  # no such run
        "runs:/not-a-run/model",
        f"runs:/{run_id}/nothing",  # no such folder
        f"runs:/{run_id}/model/model.skops",  # a file, not a model folder
    ]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A real model folder outside the store: what a hostile source would point at."""
    folder = tmp_path / "elsewhere"
    yard.models.save_model(sklearn_model()[0], folder, onnx=False)
    return folder


def _versions(c: yard.Client, name: str) -> int:
    try:
        return c.get_registered_model(name).latest_version or 0
    except NotFound:
        return 0


def test_sources_outside_the_store_are_refused_by_the_sdk(tracking_uri: str, outside: Path) -> None:
    c = yard.Client(tracking_uri)
    good, run_id = log_source(c)
    for source in _bad_sources(run_id, outside):
        with pytest.raises((InvalidArgument, NotFound)) as caught:
            c.create_model_version("churn", source)
        assert caught.value.field in ("source", "run_id"), (source, caught.value)
    assert _versions(c, "churn") == 0  # nothing half-written
    made = c.create_model_version("churn", good)
    assert made.version == 1 and made.run_id == run_id and made.model_digest


def test_sources_outside_the_store_are_refused_over_http(
    server_factory: Any, tmp_path: Path, outside: Path
) -> None:
    server = server_factory()
    c = yard.Client(server.url)
    good, run_id = log_source(c)
    url = f"{server.url}/api/v1/registry/versions"
    with httpx.Client() as http:
        for source in _bad_sources(run_id, outside):
            for _ in range(2):
                r = http.post(url, json={"name": "churn", "source": source})
                assert r.status_code in (400, 404), (source, r.status_code, r.text)
                assert error_of(r)["field"] in ("source", "run_id"), source
        assert http.get(f"{server.url}/api/v1/registry/models/churn").status_code == 404
        r = http.post(url, json={"name": "churn", "source": good})
        assert r.status_code in (200, 201), r.text
        assert r.json()["run_id"] == run_id and len(r.json()["model_digest"]) == 64


def test_sources_outside_the_store_are_refused_by_the_cli(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    c = yard.Client(uri)
    _, run_id = log_source(c)
    for source in _bad_sources(run_id, outside):
        if Path(source).is_dir() or source.startswith("file:"):
            continue  # a folder on this machine is uploaded (below)
        code = main(["models", "register", "churn", source, "-t", uri])
        assert code in (2, 3), (source, code)
        err = " ".join(capsys.readouterr().err.split())  # the terminal wraps long lines
        assert err.startswith("error:") and "Traceback" not in err, (source, err)
        assert "source" in err or "model folder" in err, (source, err)
    assert _versions(c, "churn") == 0
    assert main(["models", "register", "churn", str(outside), "-t", uri]) == 0
    made = c.get_version("churn", 1)
    assert made.source.startswith("runs:/") and str(outside) not in made.source


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param("digest", id="model_digest is not model.yaml's"),
        pytest.param("missing", id="a listed file is not stored"),
        pytest.param("extra", id="a stored file is not listed"),
        pytest.param("changed", id="a stored file differs from its sha256"),
        pytest.param("no-yaml", id="no model.yaml"),
        pytest.param("not-a-model", id="model.yaml is not a model description"),
        pytest.param("traversal", id="model.yaml lists ../x"),
    ],
)
def test_a_run_folder_that_is_not_a_whole_model_is_refused(
    tracking_uri: str, tmp_path: Path, damage: str
) -> None:
    c = yard.Client(tracking_uri)
    folder = tmp_path / "m"
    folder.mkdir()
    for item in saved_model().iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    spec = yaml.safe_load((folder / "model.yaml").read_text())
    digest = None
    if damage == "digest":
        digest = "0" * 64
    elif damage == "missing":
        (folder / "model.skops").unlink()
    elif damage == "extra":
        (folder / "extra.bin").write_bytes(b"x")
    elif damage == "changed":
        (folder / "model.skops").write_bytes(b"not the model")
    elif damage == "no-yaml":
        (folder / "model.yaml").unlink()
    elif damage == "not-a-model":
        (folder / "model.yaml").write_text("hello: world\n")
    elif damage == "traversal":
        spec["files"]["../x"] = "0" * 64
        (folder / "model.yaml").write_text(yaml.safe_dump(spec))
    run = c.create_run("0")
    c.flush()
    c.log_artifacts(run.info.run_id, folder, "model")
    source = f"runs:/{run.info.run_id}/model"
    for _ in range(2):
        with pytest.raises(InvalidArgument) as caught:
            c.create_model_version("churn", source, model_digest=digest)
        assert caught.value.field in ("source", "model_digest")
    assert _versions(c, "churn") == 0


def test_a_folder_is_uploaded_verified_and_loaded_from_the_store(
    tracking_uri: str, tmp_path: Path
) -> None:
    model, x = sklearn_model()
    folder = tmp_path / "local"
    yard.models.save_model(model, folder, input_example=x[:5], onnx=False)
    first = yard.models.register_model(folder, "churn", tracking_uri=tracking_uri, tags={"t": "1"})
    again = yard.models.register_model(
        folder.as_uri(), "churn", tracking_uri=tracking_uri, description="same files"
    )
    assert (first.version, again.version) == (1, 2)
    assert first.source.startswith("runs:/") and first.model_digest == again.model_digest
    assert first.flavor == "sklearn" and first.signature is not None  # read from model.yaml
    (folder / "model.skops").write_bytes(b"changed after registration")  # the local copy only
    loaded = yard.models.load("models:/churn/1", tracking_uri=tracking_uri)
    assert (loaded.predict(x[:10]) == model.predict(x[:10])).all()
    with pytest.raises(yard.models.TamperedModel):  # a changed folder is refused before upload
        yard.models.register_model(folder, "churn", tracking_uri=tracking_uri)
    assert yard.Client(tracking_uri).get_registered_model("churn").latest_version == 2


def test_a_version_made_before_sources_were_checked_is_refused_on_load(tmp_path: Path) -> None:
    """A store written by an older release may hold a file:// source: loading it names the
    problem instead of reading that path on this host."""
    import sqlalchemy as sa

    uri = f"sqlite:///{tmp_path}/yard.db"
    c = yard.Client(uri)
    good, _ = log_source(c)
    c.create_model_version("churn", good)
    engine = sa.create_engine(uri)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE model_versions SET source = :s"), {"s": "file:///etc"})
    engine.dispose()
    with pytest.raises(InvalidArgument, match="outside the store") as caught:
        yard.models.load("models:/churn/1", tracking_uri=uri)
    assert caught.value.field == "source"


def _other_signature() -> dict[str, Any]:
    """The small model's own signature, with one column renamed: valid, and a lie."""
    spec = yaml.safe_load((saved_model() / "model.yaml").read_text())
    text = yaml.safe_dump(spec["signature"]).replace("name: a", "name: z")
    return dict(yaml.safe_load(text))


@pytest.mark.parametrize("field", ["flavor", "signature"])
def test_a_version_cannot_claim_another_flavor_or_signature(tracking_uri: str, field: str) -> None:
    c = yard.Client(tracking_uri)
    source, _ = log_source(c)
    lie = "pytorch" if field == "flavor" else _other_signature()
    assert lie != yaml.safe_load((saved_model() / "model.yaml").read_text())[field]
    with pytest.raises(InvalidArgument, match="not the model's own") as caught:
        c.create_model_version("churn", source, **{field: lie})
    assert caught.value.field == field and _versions(c, "churn") == 0
    made = c.create_model_version("churn", source)
    assert made.flavor == "sklearn" and made.signature and made.signature["kind"] == "columns"


# Paths inside the registered folder "model": each one is refused, before anything is written.
_SEALED_PATHS = [
    "model/model.yaml",
    "model/model.skops",
    "model/extra.bin",  # a new file in the folder
    "model/deeper/x.txt",
    "model",  # the folder's own name, as a file
    "./model/model.yaml",
    "model//model.skops",
    "model/./model.yaml",
]
# Paths beside it: still writable (a prefix of the name is not the folder).
_FREE_PATHS = ["model2/model.yaml", "model.yaml", "modelx", "other/model/model.yaml"]


def _sha_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_registered_folder_never_changes_over_http(server_factory: Any) -> None:
    """After registration, no write under the folder (overwrite, new file, any spelling of the
    path) is taken: 409 naming the path, the stored files unchanged, the version loadable."""
    from tests.fixtures.logged import stored_artifact

    server = server_factory()
    c = yard.Client(server.url)
    source, run_id = log_source(c)
    version = c.create_model_version("churn", source)
    stored = stored_artifact(c, run_id, "model/model.skops")
    before = {p.name: _sha_of(p) for p in stored.parent.iterdir()}
    url = f"{server.url}/api/v1/runs/{run_id}/artifacts"
    with httpx.Client(headers={"Content-Type": "application/octet-stream"}) as http:
        for path in _SEALED_PATHS:
            for _ in range(2):
                r = http.put(url, params={"path": path}, content=b"swapped by an attacker")
                assert r.status_code in (400, 409), (path, r.status_code, r.text)
                err = error_of(r)
                assert err["field"] == "path", (path, err)
                if r.status_code == 409:
                    assert "registered" in err["message"], err
        for path in _FREE_PATHS:
            r = http.put(url, params={"path": path}, content=b"fine")
            assert r.status_code == 201, (path, r.text)
    assert {p.name: _sha_of(p) for p in stored.parent.iterdir()} == before
    listed = {f.path for f in c.list_artifacts(run_id, "model")}
    assert listed == {f"model/{name}" for name in before}
    model, x = sklearn_model()
    loaded = yard.models.load(f"models:/churn/{version.version}", tracking_uri=server.url)
    assert (loaded.predict(x[:10]) == model.predict(x[:10])).all()
    again = c.create_model_version("churn", source)  # the same folder again: already sealed, fine
    assert again.model_digest == version.model_digest


def test_a_registered_folder_never_changes_through_the_sdk(
    tracking_uri: str, tmp_path: Path
) -> None:
    c = yard.Client(tracking_uri)
    source, run_id = log_source(c)
    c.create_model_version("churn", source)
    (tmp_path / "f.txt").write_text("new")
    for _ in range(2):
        with pytest.raises(yard.Conflict) as caught:
            c.log_artifact(run_id, tmp_path / "f.txt", "model")
        assert caught.value.field == "path" and "model/f.txt" in caught.value.message
        with pytest.raises(yard.Conflict):
            c.log_artifacts(run_id, saved_model(), "model")
    assert "model/f.txt" not in {f.path for f in c.list_artifacts(run_id, "model")}
    c.log_artifact(run_id, tmp_path / "f.txt", "notes")  # elsewhere in the run: fine


def test_an_upload_racing_the_registration_leaves_the_sealed_files_as_they_were(
    server_factory: Any,
) -> None:
    """Found by the cold review: an upload that passed the seal check, then finished after
    the folder was registered, was refused but deleted the registered file on its way out.
    The catalogue is now written (and the seal checked) before the file takes its place."""
    import threading

    from tests.fixtures.logged import stored_artifact

    server = server_factory()
    c = yard.Client(server.url)
    source, run_id = log_source(c)
    stored = stored_artifact(c, run_id, "model/model.skops")
    before = _sha_of(stored)
    registered = threading.Event()
    started = threading.Event()

    def body() -> Any:
        yield b"x" * 100
        started.set()
        assert registered.wait(30)
        yield b"y" * (1_200_000)  # past the one-piece size: streamed

    result: dict[str, Any] = {}

    def upload() -> None:
        result["r"] = httpx.put(
            f"{server.url}/api/v1/runs/{run_id}/artifacts",
            params={"path": "model/model.skops"},
            content=body(),
            headers={"Content-Type": "application/octet-stream", "Content-Length": "1200100"},
            timeout=60,
        )

    thread = threading.Thread(target=upload)
    thread.start()
    assert started.wait(30)
    version = c.create_model_version("churn", source)
    registered.set()
    thread.join(60)
    assert result["r"].status_code == 409, result["r"].text
    assert _sha_of(stored) == before
    model, x = sklearn_model()
    loaded = yard.models.load(f"models:/churn/{version.version}", tracking_uri=server.url)
    assert (loaded.predict(x[:10]) == model.predict(x[:10])).all()


def test_a_model_file_with_yaml_aliases_is_refused(tracking_uri: str, tmp_path: Path) -> None:
    """Found by the cold review: a 1 KB model.yaml with nested aliases ("billion laughs")
    expanded into megabytes when registered, and would grow without bound."""
    from modelyard.models.directory import read_spec

    c = yard.Client(tracking_uri)
    folder = tmp_path / "bomb"
    yard.models.save_model(sklearn_model()[0], folder, onnx=False)
    spec = folder / "model.yaml"
    laughs = "\n".join(
        [
            "laughs:",
            "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]",
            *[f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)],
        ]
    )
    spec.write_text(spec.read_text() + laughs + "\n")
    with pytest.raises(InvalidArgument, match="anchor or alias"):
        read_spec(folder, verify=False)
    run = c.create_run("0")
    c.flush()
    c.log_artifacts(run.info.run_id, folder, "bomb")
    for _ in range(2):
        with pytest.raises(InvalidArgument, match="anchor or alias") as caught:
            c.create_model_version("bomb", f"runs:/{run.info.run_id}/bomb")
        assert caught.value.field == "source"
    assert _versions(c, "bomb") == 0
