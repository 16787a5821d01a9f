"""``modelyard build``: a container build context and Kubernetes manifests for a model."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.terminal import out, print_table


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def build(
    model: Annotated[
        str, typer.Argument(help="models:/name@alias, models:/name/3, runs:/ or a folder")
    ],
    out_dir: Annotated[str, typer.Option("--out", "-o", help="Folder to write (new or empty).")],
    image: Annotated[
        str | None,
        typer.Option(help="Image name for the manifests (default modelyard/<name>:<version>)."),
    ] = None,
    replicas: Annotated[int, typer.Option(help="Replicas, and the autoscaler's minimum.")] = 2,
    max_replicas: Annotated[int, typer.Option(help="The autoscaler's maximum.")] = 10,
    workers: Annotated[int, typer.Option(help="Server processes per container.")] = 1,
    kserve: Annotated[bool, typer.Option(help="Also write a KServe InferenceService.")] = False,
    platform: Annotated[
        str | None,
        typer.Option(
            help="The image's platform, linux/amd64 or linux/arm64 (default: this machine's)."
        ),
    ] = None,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", "-t")] = None,
) -> None:
    """A container build context (offline-installable wheels) and Kubernetes manifests.

    Writes a Dockerfile, the wheels it installs (no index needed), pinned requirements, the
    verified model and Kubernetes manifests."""
    from modelyard.serving.container.build import build as run
    from modelyard.serving.container.options import BuildOptions

    options = BuildOptions(
        image=image,
        replicas=replicas,
        max_replicas=max_replicas,
        workers=workers,
        kserve=kserve,
        platform=platform,
    )
    context = run(model, out_dir, options=options, tracking_uri=tracking_uri)
    rows = [
        (w.name, w.version, w.source, _mb(w.size))
        for w in sorted(context.wheels, key=lambda w: -w.size)
    ]
    print_table(
        "wheels (built: from source; packed: from this install; fetched: by pip)",
        ["distribution", "version", "from", "size"],
        rows,
    )
    out.print(f"{len(context.wheels)} wheels, {_mb(context.wheels_size)}")
    for role, path in context.files.items():
        out.print(f"{role:16} {path}")
    out.print(f"then: docker build -t <image> {out_dir} && kubectl apply -f {out_dir}/kubernetes")
