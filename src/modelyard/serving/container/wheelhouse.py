"""The wheels a build context installs from, so that installing it needs no network.

The set is the closure of what the served model needs: modelyard itself (built from the source
tree that is running, or packed from its installed wheel), the model's pinned requirements, what
its flavor's loader imports and ONNX Runtime when it has an ONNX copy, walked through each
wheel's own Requires-Dist with markers evaluated for the image (Linux, this Python). Every
distribution is the version installed here: packed from the installation when this machine
matches the image, fetched by pip (its cache, else the index) when it does not, when packing is
refused, or when the model pins another version. Nothing outside the closure goes in, so torch
comes only with a model that needs it. The last step resolves the requirements against the
wheels alone, as the image will, with no pip configuration and no index.
"""

from __future__ import annotations

import email.parser
import importlib.util
import os
import platform
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import Distribution, distributions
from pathlib import Path
from zipfile import ZipFile

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from modelyard.errors import InvalidArgument, NotFound, Unavailable
from modelyard.serving.container.repack import pack, parse_wheel_name, wheel_tags

GLIBC_MINOR = 36  # python:X.Y-slim-bookworm's glibc is 2.36: no manylinux wheel may need more
_MACHINES = {"x86_64": "amd64", "aarch64": "arm64"}  # uname's name -> the container platform's
_HOST_MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}.get(
    platform.machine().lower(), platform.machine().lower()
)


@dataclass(frozen=True)
class Target:
    """The image the wheels are for: Linux (glibc), this Python, one architecture."""

    machine: str = _HOST_MACHINE
    python: str = f"{sys.version_info.major}.{sys.version_info.minor}"

    @classmethod
    def parse(cls, text: str | None) -> Target:
        """From a container platform (``linux/amd64``, ``linux/arm64``); None: this machine's
        architecture."""
        if text is None:
            if _HOST_MACHINE not in _MACHINES:
                raise InvalidArgument(
                    f"this machine's architecture ({platform.machine()}) has no Linux image; "
                    "pass --platform linux/amd64 or linux/arm64",
                    field="platform",
                )
            return cls()
        for machine, name in _MACHINES.items():
            if text.strip().lower() == f"linux/{name}":
                return cls(machine=machine)
        raise InvalidArgument(
            f"platform must be linux/amd64 or linux/arm64, not {text!r}", field="platform"
        )

    @property
    def docker(self) -> str:
        return f"linux/{_MACHINES[self.machine]}"

    @property
    def image(self) -> str:
        return f"python:{self.python}-slim-bookworm"

    @property
    def platforms(self) -> list[str]:
        """pip's --platform values: every manylinux tag the image's glibc accepts."""
        m = self.machine
        tags = [f"manylinux_2_{minor}_{m}" for minor in range(GLIBC_MINOR, 16, -1)]
        return [*tags, f"manylinux2014_{m}", f"manylinux2010_{m}", f"manylinux1_{m}", f"linux_{m}"]

    def native(self) -> bool:
        """Whether what is installed here would run in the image as it is."""
        return (
            sys.platform == "linux"
            and self.machine == _HOST_MACHINE
            and platform.libc_ver()[0] == "glibc"
        )

    def fits(self, tags: Iterable[str]) -> bool:
        accepted = {"any", *self.platforms}
        return any(tag.rsplit("-", 1)[-1] in accepted for tag in tags)

    def markers(self) -> dict[str, str]:
        env = {k: str(v) for k, v in default_environment().items()}
        env.update(
            sys_platform="linux",
            platform_system="Linux",
            os_name="posix",
            platform_machine=self.machine,
        )
        return env


@dataclass(frozen=True)
class Wheel:
    name: str  # canonical
    version: str
    path: Path
    source: str  # built (modelyard from its source tree), packed (from this install), fetched

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass
class _Walk:
    target: Target
    dest: Path
    advance: Callable[[int], object]
    found: dict[str, Wheel] = field(default_factory=dict)
    extras: dict[str, set[str]] = field(default_factory=dict)
    wanted_by: dict[str, str] = field(default_factory=dict)


def _installed(name: str) -> Distribution | None:
    """The distribution installed in this environment's site-packages: not a copy a library
    vendors and puts on ``sys.path`` at import (Ray's ``thirdparty_files`` holds its own
    psutil), which is not what this environment resolved."""
    for dist in distributions(name=name, path=site_dirs()):
        return dist
    return None


def site_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    found = [paths["purelib"], paths["platlib"]]
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user and Path(user).is_dir():
        found.append(user)
    return list(dict.fromkeys(found))


def requires_of(wheel: Path) -> tuple[str, str, list[str]]:
    """(name, version, Requires-Dist) from the METADATA inside a wheel."""
    with ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(names) != 1:
            raise InvalidArgument(f"{wheel.name} holds no single METADATA", field="wheels")
        meta = email.parser.Parser().parsestr(zf.read(names[0]).decode("utf-8"))
    return (
        canonicalize_name(meta["Name"]),
        str(meta["Version"]),
        meta.get_all("Requires-Dist") or [],
    )


def _pip(args: list[str], *, clean: bool = False) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("pip") is None:
        raise NotFound(
            f"modelyard build runs pip, and this environment has none ({sys.executable}): "
            "python -m ensurepip installs it",
            field="pip",
        )
    env = dict(os.environ)
    if clean:  # as in the image: no pip configuration from this machine
        env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    cmd = [sys.executable, "-m", "pip", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1][:300]


def fetch(requirements: list[str], dest: Path, target: Target) -> list[Path]:
    """``pip download`` the wheels for ``target`` (no dependencies: the walk finds them);
    the wheels it wrote. Uses pip's cache and configured index: the network, at build time."""
    before = set(dest.iterdir())
    args = ["download", "--no-deps", "--only-binary=:all:", "--dest", str(dest)]
    args += ["--python-version", target.python, "--quiet"]
    for tag in target.platforms:
        args += ["--platform", tag]
    done = _pip([*args, *requirements])
    if done.returncode != 0:
        raise Unavailable(
            f"pip could not download {', '.join(requirements)} for {target.docker}: "
            f"{_last_error(done.stderr or done.stdout)}",
            field="requirements",
        )
    return sorted(set(dest.iterdir()) - before)


def own_wheel(dest: Path) -> Wheel:
    """A wheel of the modelyard that is running: built from its source tree, or packed from
    the wheel it was installed from."""
    package = Path(__file__).resolve().parents[2]  # the modelyard package that is running
    root = package.parents[1] if package.parent.name == "src" else package.parent
    project = root / "pyproject.toml"
    text = project.read_text(encoding="utf-8") if project.is_file() else ""
    if re.search(r'^name\s*=\s*"modelyard"', text, re.MULTILINE):
        return _build_source(root, text, dest)
    dist = _installed("modelyard")
    reason = "modelyard is not installed"
    if dist is not None:
        here = Path(str(dist.locate_file("modelyard/__init__.py"))).resolve()
        packed = pack(dist, dest) if here.parent == package else "it is not the one running"
        if isinstance(packed, Path):
            return Wheel("modelyard", dist.version, packed, "packed")
        reason = f"the installed distribution cannot be packed: {packed}"
    raise NotFound(
        f"cannot make a wheel of the running modelyard: {package} is not in a source tree "
        f"(no pyproject.toml naming modelyard at {root}) and {reason}",
        field="modelyard",
    )


def _build_source(root: Path, pyproject: str, dest: Path) -> Wheel:
    found = re.search(r'^build-backend\s*=\s*"([^"]+)"', pyproject, re.MULTILINE)
    backend = found[1].split(".")[0] if found else "setuptools"
    have_backend = importlib.util.find_spec(backend) is not None
    with tempfile.TemporaryDirectory(prefix="modelyard-wheel-") as tmp:
        args = ["wheel", "--no-deps", "--wheel-dir", tmp, "--quiet"]
        done = _pip([*args, *(["--no-build-isolation"] if have_backend else []), str(root)])
        wheels = list(Path(tmp).glob("modelyard-*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            why = "" if have_backend else f"its build backend {backend} is not installed here "
            why += "" if have_backend else f"(pip install {backend}, or let pip reach an index), "
            raise Unavailable(
                f"cannot build modelyard's wheel from {root}: {why}pip wheel failed: "
                f"{_last_error(done.stderr or done.stdout)}",
                field="modelyard",
            )
        path = dest / wheels[0].name
        shutil.move(str(wheels[0]), path)
    name, version, _ = requires_of(path)
    return Wheel(name, version, path, "built")


def assemble(
    roots: list[str], dest: Path, target: Target, advance: Callable[[int], object]
) -> list[Wheel]:
    """Write into ``dest`` modelyard's wheel and every wheel the closure of ``roots`` needs;
    ``advance(1)`` after each. Returns them, modelyard first."""
    own = own_wheel(dest)
    advance(1)
    return [own, *collect(roots, dest, target, advance, given=[own])]


def collect(
    roots: list[str],
    dest: Path,
    target: Target,
    advance: Callable[[int], object],
    given: Iterable[Wheel] = (),
) -> list[Wheel]:
    """Write into ``dest`` the wheels of ``roots`` and of everything they need, less what
    ``given`` (wheels already there) holds; returns the ones written, by name."""
    walk = _Walk(target, dest, advance)
    for wheel in given:
        walk.found[wheel.name], walk.extras[wheel.name] = wheel, set()
    pending = _follow(walk, [(name, {""}) for name in walk.found])
    for text in roots:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise InvalidArgument(
                f"the model's requirement {text!r} does not parse: {exc}", field="requirements"
            ) from None
        if req.marker is None or req.marker.evaluate(target.markers()):
            pending.append((req, "the model"))
    while pending:
        pending = _round(walk, pending)
    held = {w.name for w in given}
    return sorted((w for w in walk.found.values() if w.name not in held), key=lambda w: w.name)


def _round(walk: _Walk, pending: list[tuple[Requirement, str]]) -> list[tuple[Requirement, str]]:
    """Obtain the wheels ``pending`` asks for; the requirements those wheels bring."""
    wanted: dict[str, tuple[SpecifierSet, set[str], str]] = {}
    follow: list[tuple[str, set[str]]] = []
    for req, by in pending:
        key: str = canonicalize_name(req.name)
        if key in walk.found:
            have = walk.found[key]
            if not req.specifier.contains(have.version, prereleases=True):
                earlier = walk.wanted_by.get(key, "the model")
                raise InvalidArgument(
                    f"{by} needs {req.name}{req.specifier}, but {earlier} brought "
                    f"{have.version}: the context cannot hold both",
                    field="requirements",
                )
            new = set(req.extras) - walk.extras[key]
            if new:
                follow.append((key, new))
            continue
        spec, extras, first = wanted.get(key, (SpecifierSet(), set(), by))
        wanted[key] = (spec & req.specifier, extras | set(req.extras), first)
    for key, (_, extras, by) in wanted.items():
        walk.wanted_by[key] = by
        walk.extras[key] = set()
        follow.append((key, extras | {""}))
    _obtain(walk, {key: spec for key, (spec, _, _) in wanted.items()})
    return _follow(walk, follow)


def _follow(walk: _Walk, follow: list[tuple[str, set[str]]]) -> list[tuple[Requirement, str]]:
    """The requirements of found wheels for extras not followed yet ("" for the base)."""
    env = walk.target.markers()
    out: list[tuple[Requirement, str]] = []
    for key, extras in follow:
        new = extras - walk.extras[key]
        walk.extras[key] |= new
        for text in requires_of(walk.found[key].path)[2]:
            req = Requirement(text)
            if req.marker is None:
                keep = "" in new
            else:
                keep = any(req.marker.evaluate({**env, "extra": e}) for e in new)
            if keep:
                out.append((req, key))
    return out


def _obtain(walk: _Walk, wanted: dict[str, SpecifierSet]) -> None:
    """Pack what can be packed, fetch the rest; every wanted name ends in ``walk.found``."""
    packable: dict[str, Distribution] = {}
    to_fetch: dict[str, str] = {}
    for key, spec in wanted.items():
        dist = _installed(key)
        if dist is not None and spec.contains(dist.version, prereleases=True):
            if walk.target.native() and walk.target.fits(wheel_tags(dist.read_text("WHEEL") or "")):
                packable[key] = dist
            else:
                to_fetch[key] = f"{key}=={dist.version}"
        else:
            to_fetch[key] = f"{key}{spec}"
    if packable:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for key, result in zip(
                packable, pool.map(lambda d: pack(d, walk.dest), packable.values()), strict=True
            ):
                dist = packable[key]
                if isinstance(result, Path):
                    walk.found[key] = Wheel(key, dist.version, result, "packed")
                    walk.advance(1)
                else:
                    to_fetch[key] = f"{key}=={dist.version}"
    if to_fetch:
        for path in fetch(list(to_fetch.values()), walk.dest, walk.target):
            parsed = parse_wheel_name(path.name)
            if parsed is not None and parsed[0] in to_fetch:
                walk.found[parsed[0]] = Wheel(parsed[0], parsed[1], path, "fetched")
                walk.advance(1)
        missing = [to_fetch[k] for k in to_fetch if k not in walk.found]
        if missing:
            raise NotFound(
                f"pip wrote no wheel for {', '.join(missing)} ({walk.target.docker})",
                field="requirements",
            )


def check_offline(wheels: Path, requirements: Path, target: Target) -> None:
    """Resolve ``requirements`` against ``wheels`` alone for ``target``, as the image will
    (no index, no pip configuration); raises with pip's reason when it would not install."""
    args = ["install", "--dry-run", "--ignore-installed", "--no-index", "--only-binary=:all:"]
    args += ["--find-links", str(wheels), "-r", str(requirements), "--quiet"]
    args += ["--python-version", target.python]
    for tag in target.platforms:
        args += ["--platform", tag]
    done = _pip(args, clean=True)
    if done.returncode != 0:
        raise InvalidArgument(
            f"the context would not install offline: {_last_error(done.stderr or done.stdout)}",
            field="requirements",
        )
