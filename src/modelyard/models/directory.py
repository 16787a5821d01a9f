"""The model directory: the flavor's files plus ``model.yaml``, which lists every file's sha256.

``model.yaml`` records the flavor, its load options, the signature, the input example file,
pinned requirements, framework versions and a sha256 per file. Loading checks every file
against it first: a changed, missing or extra file, or a path that leaves the directory, is
refused with the file named, before any of the model's bytes are deserialised.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelyard.errors import InvalidArgument
from modelyard.models.signature import Signature
from modelyard.plain_yaml import load_plain
from modelyard.store.artifacts.paths import safe_relpath

MODEL_FILE = "model.yaml"
FORMAT_VERSION = 1


# libyaml's safe loader when PyYAML was built with it: ten times faster on a large model.yaml


class TamperedModel(InvalidArgument):
    """A model file does not match the sha256 recorded in model.yaml."""


@dataclass(frozen=True)
class ModelFiles:
    """A verified model directory's files: the one way a flavor reaches them.

    Every path a model file names (``flavor_options.file``, ``onnx.file``, an artifact, the
    input example) goes through ``path``: it must be a plain relative path and one of the files
    hashed in ``model.yaml``, so a model cannot point a loader at a file outside its folder or
    at one the sha256 check did not cover."""

    root: Path
    listed: frozenset[str]

    def path(self, rel: object, *, field: str = "file") -> Path:
        if not isinstance(rel, str):
            raise TamperedModel(
                f"{MODEL_FILE}: {field} must name one of the model's files, not "
                f"{type(rel).__name__}",
                field=field,
            )
        try:
            clean = safe_relpath(rel, field=field)
        except InvalidArgument as exc:
            raise TamperedModel(
                f"{MODEL_FILE}: {field} {rel!r} is not inside the model folder ({exc.message})",
                field=field,
            ) from None
        if clean not in self.listed:
            raise TamperedModel(
                f"{MODEL_FILE}: {field} {rel!r} is not one of the model's hashed files",
                field=field,
            )
        return self.root / clean


@dataclass
class ModelSpec:
    flavor: str
    flavor_options: dict[str, Any]
    signature: Signature | None
    files: dict[str, str]  # relative path -> sha256
    input_example: str | None = None
    requirements: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    created_time: int = 0
    onnx: dict[str, Any] = field(default_factory=dict)  # status, file, max_abs_diff, reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "flavor": self.flavor,
            "flavor_options": self.flavor_options,
            "signature": self.signature.to_dict() if self.signature else None,
            "input_example": self.input_example,
            "requirements": self.requirements,
            "versions": self.versions,
            "metadata": self.metadata,
            "created_time": self.created_time,
            "onnx": self.onnx,
            "files": dict(sorted(self.files.items())),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise InvalidArgument(
                f"{MODEL_FILE} is not a modelyard model description (format_version "
                f"{FORMAT_VERSION})",
                field=MODEL_FILE,
            )
        files = data.get("files")
        if not isinstance(files, dict):  # empty for a PythonModel with no artifacts
            raise InvalidArgument(f"{MODEL_FILE} has no files mapping", field="files")
        checked = {}
        for path, digest in files.items():
            rel = safe_relpath(str(path))  # a path outside the directory is refused here
            if not isinstance(digest, str) or len(digest) != 64:
                raise InvalidArgument(f"{MODEL_FILE}: bad sha256 for {rel!r}", field="files")
            checked[rel] = digest
        example = data.get("input_example")
        return cls(
            flavor=str(data.get("flavor")),
            flavor_options=dict(data.get("flavor_options") or {}),
            signature=Signature.from_dict(data["signature"]) if data.get("signature") else None,
            files=checked,
            input_example=safe_relpath(example) if example else None,
            requirements=[str(r) for r in data.get("requirements") or []],
            versions={str(k): str(v) for k, v in (data.get("versions") or {}).items()},
            metadata=dict(data.get("metadata") or {}),
            created_time=int(data.get("created_time") or 0),
            onnx=dict(data.get("onnx") or {}),
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(root: Path) -> list[str]:
    found = []
    for dirpath, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                raise TamperedModel(f"model file {rel!r} is a link", field="files")
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):  # a FIFO or device would hang or never end
                raise TamperedModel(f"model file {rel!r} is not a regular file", field="files")
            if info.st_nlink > 1:  # the same bytes as a file elsewhere, changed from there
                raise TamperedModel(f"model file {rel!r} is a hard link", field="files")
            if rel != MODEL_FILE:
                found.append(rel)
    return sorted(found)


def write_spec(root: Path, spec: ModelSpec) -> ModelSpec:
    """Hash every file under ``root`` into ``spec`` and write ``model.yaml``."""
    spec.files = {rel: sha256_file(root / rel) for rel in _walk(root)}
    text = yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True)
    (root / MODEL_FILE).write_text(text, encoding="utf-8")
    return spec


def read_spec(root: Path, *, verify: bool = True) -> ModelSpec:
    """Read ``model.yaml`` and (by default) check every file against its sha256."""
    source = root / MODEL_FILE
    if not source.is_file():
        raise InvalidArgument(
            f"no {MODEL_FILE} in {str(root)!r}: not a model directory", field="uri"
        )
    text = source.read_text(encoding="utf-8")
    spec = ModelSpec.from_dict(load_plain(text, where=MODEL_FILE, field=MODEL_FILE))
    if verify:
        verify_files(root, spec)
    return spec


def verified_files(root: Path, spec: ModelSpec) -> ModelFiles:
    """Check every file against ``spec`` and return the accessor flavors read them through."""
    verify_files(root, spec)
    return ModelFiles(root, frozenset(spec.files))


def verify_files(root: Path, spec: ModelSpec) -> None:
    if root.is_symlink():
        raise TamperedModel(f"the model folder {str(root)!r} is a link", field="uri")
    present = set(_walk(root))
    listed = set(spec.files)
    if present - listed:
        extra = sorted(present - listed)[0]
        raise TamperedModel(f"model file {extra!r} is not listed in {MODEL_FILE}", field=extra)
    if listed - present:
        gone = sorted(listed - present)[0]
        raise TamperedModel(f"model file {gone!r} listed in {MODEL_FILE} is missing", field=gone)
    for rel, digest in sorted(spec.files.items()):
        if sha256_file(root / rel) != digest:
            raise TamperedModel(
                f"model file {rel!r} does not match its sha256 in {MODEL_FILE}: it was changed "
                "after the model was saved; refusing to load it",
                field=rel,
            )
