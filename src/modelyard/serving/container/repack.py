"""Pack a distribution installed here back into the wheel it was installed from.

Only the files its RECORD lists go in, each checked against the hash RECORD holds while it is
copied, so a file changed since the install stops the packing instead of travelling into an
image. What the installer wrote for itself stays out (INSTALLER, REQUESTED, direct_url.json,
bytecode, the launchers of console scripts): pip writes its own again when it installs the
wheel. Nothing here imports the distribution, and nothing is left behind when packing stops.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from importlib.metadata import Distribution
from pathlib import Path, PurePosixPath
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from packaging.utils import canonicalize_name

_INSTALLER_FILES = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the same bytes from the same files: a wheel's name says it all
# deflate level 1: five times faster than the default on compiled libraries, about 12% larger
_LEVEL = 1


@dataclass(frozen=True)
class _Entry:
    source: Path
    arcname: str
    digest: str | None  # RECORD's "sha256=..." or None where RECORD gives no hash
    script: bool = False


def record_hash(data: bytes) -> str:
    return "sha256=" + _b64(hashlib.sha256(data).digest())


def wheel_name(name: str, version: str, tags: list[str]) -> str:
    """``name-version-py-abi-plat.whl``, the tags compressed as the wheel spec writes them."""
    parts: list[list[str]] = [[], [], []]
    for tag in tags:
        for i, piece in enumerate(tag.split("-")):
            if piece not in parts[i]:
                parts[i].append(piece)
    escaped = canonicalize_name(name).replace("-", "_")
    return f"{escaped}-{version.replace('-', '_')}-" + "-".join(".".join(p) for p in parts) + ".whl"


def wheel_tags(wheel_file: str) -> list[str]:
    return [
        line.split(":", 1)[1].strip() for line in wheel_file.splitlines() if line.startswith("Tag:")
    ]


def _scripts(dist: Distribution) -> set[str]:
    """The console and GUI scripts pip writes launchers for, from entry_points.txt."""
    return {ep.name for ep in dist.entry_points if ep.group in ("console_scripts", "gui_scripts")}


def _entries(dist: Distribution, data_dir: str) -> list[_Entry] | str:
    files = dist.files
    if files is None:
        return "it has no RECORD (installed by a tool other than pip)"
    site = Path(str(dist.locate_file("")))
    # <prefix>/lib/pythonX.Y/site-packages on POSIX, <prefix>/Lib/site-packages on Windows
    up = 2 if sys.platform != "win32" else 1
    prefix = site.parents[up] if len(site.parents) > up else None
    launchers = _scripts(dist)
    out: list[_Entry] = []
    for item in files:
        path = PurePosixPath(str(item))
        if path.suffix == ".pyc" or "__pycache__" in path.parts:
            continue
        if path.parts[0].endswith(".dist-info") and path.name in _INSTALLER_FILES:
            continue
        source = Path(os.path.normpath(site / str(item)))
        digest = f"{item.hash.mode}={item.hash.value}" if item.hash else None
        if ".." not in path.parts:
            out.append(_Entry(source, path.as_posix(), digest))
            continue
        try:
            rel = source.relative_to(prefix or site)
        except ValueError:
            return f"{item} lies outside its installation"
        if rel.parts[0] in ("bin", "Scripts"):
            if source.name in launchers or source.stem in launchers:
                continue
            out.append(_Entry(source, f"{data_dir}/scripts/{source.name}", digest, script=True))
        elif rel.parts[:2] == ("include", "site"):
            out.append(_Entry(source, f"{data_dir}/headers/{'/'.join(rel.parts[4:])}", digest))
        else:
            out.append(_Entry(source, f"{data_dir}/data/{rel.as_posix()}", digest))
    return out


def _copy(zf: ZipFile, entry: _Entry) -> str | tuple[str, int]:
    """Copy one file into the zip, checking its hash; (new hash, size) or why it cannot be."""
    if entry.digest is None:
        return f"RECORD gives no hash for {entry.arcname}"
    algorithm, _, expected = entry.digest.partition("=")
    if algorithm not in hashlib.algorithms_guaranteed:
        return f"RECORD uses an unknown hash ({algorithm}) for {entry.arcname}"
    try:
        mode = entry.source.stat().st_mode
        data = entry.source.read_bytes()
    except OSError:
        return f"{entry.source} is missing"
    if _b64(hashlib.new(algorithm, data).digest()) != expected:
        return f"{entry.source} changed since it was installed"
    if entry.script:  # the shebang points at this interpreter: back to plain "python"
        first, newline, rest = data.partition(b"\n")
        if first.startswith(b"#!") and b"python" in first:
            data = b"#!python" + newline + rest
    info = ZipInfo(entry.arcname, date_time=_EPOCH)
    info.external_attr = (stat.S_IFREG | (0o755 if mode & stat.S_IXUSR else 0o644)) << 16
    zf.writestr(info, data, compress_type=ZIP_DEFLATED, compresslevel=_LEVEL)
    return record_hash(data), len(data)


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pack(dist: Distribution, dest: Path) -> Path | str:
    """Write ``dist`` as a wheel in ``dest``; the wheel's path, or the reason it cannot be
    packed (then nothing is written)."""
    direct = dist.read_text("direct_url.json")
    if direct and json.loads(direct).get("dir_info", {}).get("editable"):
        return "it is an editable install"
    wheel_file = dist.read_text("WHEEL")
    tags = wheel_tags(wheel_file or "")
    if not tags:
        return "its WHEEL file names no tags"
    name, version = dist.metadata["Name"], dist.version
    data_dir = f"{canonicalize_name(name).replace('-', '_')}-{version}.data"
    entries = _entries(dist, data_dir)
    if isinstance(entries, str):
        return entries
    info_dirs = {e.arcname.split("/", 1)[0] for e in entries if ".dist-info/" in e.arcname}
    if len(info_dirs) != 1:
        return "its RECORD does not name one .dist-info folder"
    info_dir = info_dirs.pop()
    target = dest / wheel_name(name, version, tags)
    partial = target.with_name(target.name + ".part")
    record: list[str] = []
    failure: str | None = None
    try:
        with ZipFile(partial, "w", ZIP_DEFLATED) as zf:
            # the .dist-info folder last, as the wheel spec recommends
            for entry in sorted(entries, key=lambda e: e.arcname.startswith(info_dir + "/")):
                copied = _copy(zf, entry)
                if isinstance(copied, str):
                    failure = copied
                    break
                record.append(f"{entry.arcname},{copied[0]},{copied[1]}")
            else:
                record.append(f"{info_dir}/RECORD,,")
                info = ZipInfo(f"{info_dir}/RECORD", date_time=_EPOCH)
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                zf.writestr(
                    info, "\n".join(record) + "\n", compress_type=ZIP_DEFLATED, compresslevel=_LEVEL
                )
        if failure is None:
            partial.replace(target)
            return target
        return failure
    finally:
        partial.unlink(missing_ok=True)


_WHEEL_NAME = re.compile(r"(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl")


def parse_wheel_name(filename: str) -> tuple[str, str] | None:
    """(canonical name, version) from a wheel's file name, or None when it is not one."""
    found = _WHEEL_NAME.fullmatch(filename)
    if found is None:
        return None
    return canonicalize_name(found["name"]), found["version"]
