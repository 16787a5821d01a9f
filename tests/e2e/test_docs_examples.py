"""Every Python example in the README and docs/ runs, in a fresh folder that is also HOME,
against the code under test, with only what ``make demo`` installs plus what the example
says it needs (a site-packages folder that holds nothing else), and prints what its ``# ->``
comments say.

The convention (how a claim is written and compared) is in ``tests/fixtures/docs.py``; in
short: ``print(x)  # -> [2, 1]``, or ``# ->`` lines right after the print call, one per output
line; whitespace is normalized, ``...`` matches anything, floats match within a relative
1e-6. An example that needs more than ``modelyard[demo]`` has a comment line
``# needs: pip install 'modelyard[models]' xgboost``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from tests.fixtures import docs

import modelyard

RUNNER = (Path(docs.__file__).parent / "doc_runner.py").read_text()
SRC = str(Path(modelyard.__file__).resolve().parents[1])  # the code under test
EXAMPLES = docs.blocks("python")


def _check_needs(need: list[str]) -> None:
    extras = set(metadata.metadata("modelyard").get_all("Provides-Extra") or [])
    for line in need:
        req = Requirement(line)
        if req.name == "modelyard":
            assert req.extras <= extras, f"no such extra: {sorted(req.extras - extras)}"
    missing = [r for r in need if docs.installed_name(Requirement(r).name) is None]
    if missing:
        pytest.skip(f"the example needs {missing}, not installed here")


@pytest.mark.parametrize("block", EXAMPLES, ids=[b.where for b in EXAMPLES])
def test_example_prints_what_it_says(block: docs.Block, tmp_path: Path) -> None:
    claims = docs.claims(block.code)
    need = docs.needs(block.code)
    _check_needs(need)
    home = tmp_path / "home"
    home.mkdir()
    site = docs.site_packages_with([docs.DEMO_INSTALL, *need], tmp_path / "site-packages")
    printed = tmp_path / "printed.json"
    out = subprocess.run(
        [sys.executable, "-S", "-c", RUNNER, block.where, str(printed), str(site)],
        input=block.code,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": SRC},
    )
    hint = ""
    if "ModuleNotFoundError" in out.stderr:
        hint = (
            f"\n{docs.DEMO_INSTALL} does not install it: say what the example needs in a "
            "comment line '# needs: pip install ...', and in the text"
        )
    assert out.returncode == 0, f"{block.where} failed:\n{out.stderr}{hint}"
    by_call = docs.printed_by_call(block.code, json.loads(printed.read_text()))
    wrong = []
    for claim in claims:
        why = docs.mismatch(claim.expected, by_call.get(claim.line, ""))
        if why:
            wrong.append(f"{block.page}:{block.line + claim.line}: {why}")
    assert not wrong, "\n".join(wrong)


def test_the_examples_claim_their_output() -> None:
    assert len(EXAMPLES) >= 19
    assert sum(len(docs.claims(b.code)) for b in EXAMPLES) >= 36
