"""The checker behind tests/e2e/test_docs_examples.py: what a ``# ->`` claim matches, which
print call it belongs to, what an example may import, and that a wrong claim is caught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.fixtures import docs

RUNNER = (Path(docs.__file__).parent / "doc_runner.py").read_text()


@pytest.mark.parametrize(
    ("expected", "printed"),
    [
        ("[2, 1]", "[2, 1]\n"),
        ("0.91", "0.9100000000000001"),  # float noise within a relative 1e-6
        ("1.6689e-07", "1.6689000001e-07"),
        ("0    rf-baseline 0.91  8", "0  rf-baseline         0.91                8\n"),
        ("a\nb", "a b"),  # whitespace, newlines included, is normalized
        (".../blobs/...", "/tmp/x/modelyard-artifacts/datasets/blobs/a3/a308"),
        ("wasserstein 0.81294... None", "wasserstein 0.8129454349867631 None"),
        ("runs:/.../model x1", "runs:/43c18008d24a/model x1"),
        ("features@1 input training -> train", "features@1 input training -> train"),
    ],
)
def test_claims_that_hold(expected: str, printed: str) -> None:
    assert docs.mismatch(expected, printed) is None


@pytest.mark.parametrize(
    ("expected", "printed"),
    [
        ("onnx ok 0.0", "onnx ok 1.6689300541550267e-07"),  # the claim this checker was made for
        ("0.91", "0.9101"),
        ("1", "1.0"),  # an integer claim is not met by a float, nor the other way
        ("1.0", "1"),
        ("[2, 1]", "[1, 2]"),
        ("3 ['cats/b.jpg']", "3 ['cats/b.jpg'] extra"),
        ("wasserstein 0.81294... None", "wasserstein 0.8130 None"),
        ("models:/churn/1 1", "models:/churn/12 1"),
        ("True", ""),  # a print that never ran
    ],
)
def test_claims_that_do_not(expected: str, printed: str) -> None:
    assert docs.mismatch(expected, printed) is not None


def test_a_claim_belongs_to_the_print_call_before_it() -> None:
    code = (
        "x = 1  # a comment, not a claim\n"
        "print(x)  # -> 1\n"
        "for i in range(2):\n"
        "    print(\n"
        "        i,\n"
        "    )\n"
        "# -> 0\n"
        "# -> 1\n"
        "print(3)  # prose\n"
        "# -> 3\n"
        "print(4)\n"
    )
    assert docs.claims(code) == [
        docs.Claim(2, "1"),
        docs.Claim(4, "0\n1"),
        docs.Claim(9, "3"),
    ]


@pytest.mark.parametrize(
    "code",
    [
        "x = 1  # -> 1\n",
        "print(1)\nx = 2\n# -> 1\n",
        "# -> 1\nprint(1)\n",
    ],
)
def test_a_claim_that_follows_no_print_call_is_an_error(code: str) -> None:
    with pytest.raises(ValueError, match="follows no print call"):
        docs.claims(code)


def test_needs() -> None:
    code = "# needs: pip install 'modelyard[models]' xgboost\nimport xgboost\n"
    assert docs.needs(code) == ["modelyard[models]", "xgboost"]
    assert docs.needs("import numpy\n") == []
    with pytest.raises(ValueError, match="pip install"):
        docs.needs("# needs: xgboost\n")


def test_the_demo_install_holds_scikit_learn_and_no_other_framework() -> None:
    demo = docs.closure([docs.DEMO_INSTALL])
    assert {"modelyard", "scikit-learn", "skl2onnx", "onnxruntime", "pandas"} <= demo
    assert not {"xgboost", "xgboost-cpu", "lightgbm", "torch", "onnxmltools", "pytest"} & demo
    assert "onnxmltools" in docs.closure([docs.DEMO_INSTALL, "modelyard[models]"])


def _run(code: str, site: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list]:
    printed = tmp_path / "printed.json"
    out = subprocess.run(
        [sys.executable, "-S", "-c", RUNNER, "example.md:1", str(printed), str(site)],
        input=code,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    return out, json.loads(printed.read_text())


def test_the_runner_records_each_print_call_by_line(tmp_path: Path) -> None:
    code = "print('a', 1)\nfor i in range(2):\n    print(\n        i,\n    )\nprint('x', end='')\n"
    out, printed = _run(code, tmp_path, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "a 1\n0\n1\nx"
    assert docs.printed_by_call(code, printed) == {1: "a 1\n", 3: "0\n1\n", 6: "x"}


def test_the_runner_sees_only_the_site_packages_it_is_given(tmp_path: Path) -> None:
    site = docs.site_packages_with(["pyyaml"], tmp_path / "site")
    out, _ = _run("import yaml\nimport pandas\n", site, tmp_path)
    assert "No module named 'pandas'" in out.stderr
    assert out.returncode == 1
