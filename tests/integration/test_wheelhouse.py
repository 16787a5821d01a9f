"""The wheels of a build context: an installed distribution packed back into its wheel
installs the same files again; a changed file stops the packing, and the wheel is then taken
from pip (here a local folder: no index is reached); what pip cannot find is named."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from importlib.metadata import Distribution
from pathlib import Path

import pytest

from modelyard.errors import InvalidArgument, Unavailable
from modelyard.serving.container.repack import pack, record_hash
from modelyard.serving.container.wheelhouse import Target, collect

INIT = b"def main() -> None:\n    print('tiny')\n"
NOTES = (b"../../../bin/tiny,", b"tiny-1.0.dist-info/direct_url.json,")
TOOL = b"#!python\nprint('a script that is no entry point')\n"


def _tiny_wheel(folder: Path) -> Path:
    """tiny 1.0: a module, a console script, a plain script and a data file."""
    files = {
        "tiny/__init__.py": INIT,
        "tiny-1.0.data/scripts/tiny-tool": TOOL,
        "tiny-1.0.data/data/share/tiny/README": b"read me\n",
        "tiny-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n",
        "tiny-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
        "tiny-1.0.dist-info/entry_points.txt": b"[console_scripts]\ntiny = tiny:main\n",
    }
    record = [f"{name},{record_hash(data)},{len(data)}" for name, data in files.items()]
    record.append("tiny-1.0.dist-info/RECORD,,")
    files["tiny-1.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100755 if "scripts" in name else 0o100644) << 16
            zf.writestr(info, data)
    return path


def _install(wheel: Path, prefix: Path) -> Path:
    """pip install ``wheel`` under ``prefix``; the site-packages folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*cmd, "--prefix", str(prefix), str(wheel)], check=True, env=env)
    (site,) = prefix.glob("lib/python*/site-packages")
    return site


def _tree(prefix: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(prefix)): p.read_bytes()
        for p in prefix.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.name not in ("INSTALLER", "direct_url.json")  # pip's notes on this install
    }


def test_a_packed_distribution_installs_the_same_files_again(tmp_path: Path) -> None:
    site = _install(_tiny_wheel(tmp_path / "original"), tmp_path / "first")
    packed = pack(Distribution.at(site / "tiny-1.0.dist-info"), tmp_path)
    assert isinstance(packed, Path) and packed.name == "tiny-1.0-py3-none-any.whl"
    with zipfile.ZipFile(packed) as zf:
        names = set(zf.namelist())
        assert zf.read("tiny-1.0.data/scripts/tiny-tool") == TOOL  # the shebang is python's again
    assert "tiny-1.0.dist-info/INSTALLER" not in names  # what pip wrote for itself stays out
    assert not any(n.endswith(".pyc") or n.endswith("/tiny") for n in names)  # launcher too
    _install(packed, tmp_path / "second")
    first, second = _tree(tmp_path / "first"), _tree(tmp_path / "second")
    assert "bin/tiny" in first and "bin/tiny-tool" in first and "share/tiny/README" in first
    first_launcher, second_launcher = first.pop("bin/tiny"), second.pop("bin/tiny")
    assert first_launcher.replace(b"first", b"second") == second_launcher
    record = "lib/python3.11/site-packages/tiny-1.0.dist-info/RECORD"
    lines = [
        sorted(x for x in tree.pop(record).splitlines() if not x.startswith(NOTES))
        for tree in (first, second)
    ]
    assert lines[0] == lines[1]  # in another order; the launcher and direct_url name the source
    assert {k: v.replace(b"first", b"second") for k, v in first.items()} == second


def test_a_changed_file_is_not_packed_and_pip_supplies_the_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _tiny_wheel(tmp_path / "index")
    site = _install(original, tmp_path / "prefix")
    (site / "tiny" / "__init__.py").write_bytes(INIT + b"# edited\n")
    dest = tmp_path / "wheels"
    dest.mkdir()
    refused = pack(Distribution.at(site / "tiny-1.0.dist-info"), dest)
    assert isinstance(refused, str) and "changed since it was installed" in refused
    assert list(dest.iterdir()) == []  # nothing half-written
    monkeypatch.syspath_prepend(str(site))
    for name in [n for n in os.environ if n.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(original.parent))
    steps: list[int] = []
    (wheel,) = collect(["tiny"], dest, Target(), steps.append)
    assert (wheel.name, wheel.version, wheel.source) == ("tiny", "1.0", "fetched")
    assert wheel.path.read_bytes() == original.read_bytes() and steps == [1]
    with pytest.raises(Unavailable, match=r"pip could not download tiny==2\.0 for linux/"):
        collect(["tiny==2.0"], tmp_path / "wheels", Target(), steps.append)


def test_the_model_requirements_are_read_for_the_image(tmp_path: Path) -> None:
    """A requirement whose marker excludes Linux brings nothing; one that does not parse is
    named."""
    assert collect(["tiny; sys_platform == 'win32'"], tmp_path, Target(), print) == []
    with pytest.raises(InvalidArgument, match="'tiny >> 1' does not parse"):
        collect(["tiny >> 1"], tmp_path, Target(), print)


def test_a_copy_a_library_vendors_on_sys_path_is_not_the_installed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray puts its own psutil on sys.path when imported (``ray/thirdparty_files``): the
    image gets the distribution this environment installed, not that copy."""
    from importlib.metadata import version

    vendored = tmp_path / "thirdparty_files"
    info = vendored / "packaging-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: packaging\nVersion: 0.0.1\n")
    monkeypatch.syspath_prepend(str(vendored))
    assert version("packaging") == "0.0.1"  # what a plain lookup now finds
    import packaging  # the module imported is the installed one

    for i in range(2):
        dest = tmp_path / f"wheels-{i}"
        dest.mkdir()
        found = collect(["packaging"], dest, Target(), print)
        assert [(w.name, w.version) for w in found] == [("packaging", packaging.__version__)]
