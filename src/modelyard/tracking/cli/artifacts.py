"""``modelyard artifacts ...``: list, upload and download run artifacts, with progress bars."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.errors import InvalidArgument
from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.store.artifacts.paths import iter_upload_files
from modelyard.terminal import out, print_json, print_table, transfer_progress
from modelyard.tracking.client import Client

app = typer.Typer(help="Artifacts: files stored with a run.", no_args_is_help=True)


@app.command("list")
def list_(
    run_id: str,
    path: Annotated[str, typer.Argument()] = "",
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """List the artifacts of a run under PATH."""
    files = Client(tracking_uri).list_artifacts(run_id, path)
    if as_json:
        print_json([f.to_dict() for f in files])
        return
    print_table(
        None,
        ["path", "size", "sha256"],
        [[f.path + ("/" if f.is_dir else ""), f.size, (f.sha256 or "")[:16]] for f in files],
    )


@app.command()
def upload(
    run_id: str,
    local_path: Path,
    artifact_path: Annotated[str | None, typer.Option("--artifact-path", "-a")] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Upload a file or a folder (symbolic links are refused) to a run."""
    c = Client(tracking_uri)
    if local_path.is_dir():
        total = sum(p.stat().st_size for p, _ in iter_upload_files(local_path))
        with transfer_progress(f"upload {local_path.name}", total) as advance:
            stored = c.log_artifacts(run_id, local_path, artifact_path, progress=advance)
    elif local_path.is_file():
        with transfer_progress(f"upload {local_path.name}", local_path.stat().st_size) as adv:
            stored = [c.log_artifact(run_id, local_path, artifact_path, progress=adv)]
    else:
        raise InvalidArgument(f"{local_path} is neither a file nor a folder", field="local_path")
    if as_json:
        print_json([{"path": s.path, "size": s.size, "sha256": s.sha256} for s in stored])
    else:
        out.print(f"uploaded {len(stored)} file(s), {sum(s.size for s in stored)} bytes")


@app.command()
def download(
    run_id: str,
    path: Annotated[str, typer.Argument()] = "",
    dst: Annotated[Path, typer.Option("--dst", "-d")] = Path(),
    tracking_uri: TrackingUri = None,
) -> None:
    """Download a file or folder of a run's artifacts to DST."""
    c = Client(tracking_uri)
    total = None
    if path:
        entries = c.list_artifacts(run_id, path)
        if not entries:
            total = c.artifact_info(run_id, path).size
    with transfer_progress(f"download {path or run_id}", total) as advance:
        target = c.download_artifacts(run_id, path, dst, progress=advance)
    out.print(f"downloaded to {target}")
