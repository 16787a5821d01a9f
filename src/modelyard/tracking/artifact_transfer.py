"""Moving a run's artifact files between this machine and the store, for the tracking client.

What may be uploaded (a real file, not a link; a folder whose files are all real) is decided
before any byte moves, and a download writes only below the folder asked for: a listing the
store made up cannot steer a write elsewhere (``store.downloads`` never follows a link).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from modelyard.errors import InvalidArgument
from modelyard.store.artifacts.base import StoredFile
from modelyard.store.artifacts.paths import iter_upload_files, join_relpath, safe_relpath
from modelyard.store.downloads import write_download
from modelyard.tracking.store import RunArtifacts

ProgressFn = Callable[[int], None]


def file_destination(local_path: str | Path, artifact_path: str | None) -> tuple[Path, str]:
    """The file to upload and its path in the run: a real file, never a symbolic link."""
    src = Path(local_path)
    if src.is_symlink():
        raise InvalidArgument(
            f"{src} is a symbolic link; log the file it points to", field="local_path"
        )
    if not src.is_file():
        raise InvalidArgument(f"{src} is not a file", field="local_path")
    prefix = safe_relpath(artifact_path, field="artifact_path") if artifact_path else ""
    return src, join_relpath(prefix, src.name)


def folder_destinations(local_dir: str | Path, artifact_path: str | None) -> list[tuple[Path, str]]:
    """Every file of a folder and its path in the run; a link anywhere refuses them all."""
    files = iter_upload_files(Path(local_dir))
    prefix = safe_relpath(artifact_path, field="artifact_path") if artifact_path else ""
    return [(p, join_relpath(prefix, rel)) for p, rel in files]


def upload_folder(
    artifacts: RunArtifacts,
    run_id: str,
    files: list[tuple[Path, str]],
    progress: ProgressFn | None,
) -> list[StoredFile]:
    return [artifacts.upload_file(run_id, dest, p, progress) for p, dest in files]


def download_tree(
    artifacts: RunArtifacts,
    run_id: str,
    path: str,
    dst: Path,
    progress: ProgressFn | None,
) -> Path:
    """Download a file or a folder of artifacts below ``dst``; returns the local path."""
    rel = safe_relpath(path) if path else ""
    entries = artifacts.list(run_id, rel)
    if rel and not entries:
        _download_file(artifacts, run_id, rel, dst, progress)
        return dst / rel
    stack = list(entries)
    while stack:
        entry = stack.pop()
        # a listing must stay inside what was asked for: a path the store made up cannot
        # steer a write elsewhere under dst
        if rel and not entry.path.startswith(rel + "/"):
            raise InvalidArgument(
                f"the store listed {entry.path!r} under {rel!r}; refusing to write it",
                field="path",
            )
        if entry.is_dir:
            stack.extend(artifacts.list(run_id, entry.path))
        else:
            _download_file(artifacts, run_id, entry.path, dst, progress)
    return dst / rel if rel else dst


def _download_file(
    artifacts: RunArtifacts, run_id: str, rel: str, dst: Path, progress: ProgressFn | None
) -> None:
    """``dst/rel`` written under a temporary name and renamed: links in ``dst`` are never
    followed (``store.downloads``)."""
    write_download(dst, rel, artifacts.download_stream(run_id, rel), progress=progress)
