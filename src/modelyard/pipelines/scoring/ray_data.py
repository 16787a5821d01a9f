"""The Ray Data engine: ``read_parquet`` -> ``map_batches`` with a pool of actors, each
holding the model (and so one ONNX Runtime session) -> ``write_parquet`` into a staging
folder, whose part files are then joined into one Parquet file, batch by batch, so that the
version logged has the same shape whichever engine made it. Ray is imported only here, and
only when this engine runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from modelyard.pipelines.scoring.local import batches
from modelyard.pipelines.scoring.scorer import Plan, Scorer


def ray_ready() -> bool:
    """True when this process is connected to a Ray cluster (``ray.init`` was called); Ray is
    never imported to find out."""
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


class RayScorer:
    """A Ray Data actor: loads the model once (its verified folder when this node has it,
    else from the store by URI) and scores the batches Ray hands it."""

    def __init__(self, folder: str, model_uri: str, tracking_uri: str | None, plan: Plan) -> None:
        from modelyard.models.api import load, load_dir

        if Path(folder).is_dir():
            model = load_dir(folder, onnx_threads=1)
        else:
            model = load(model_uri, tracking_uri=tracking_uri, onnx_threads=1)
        self.scorer = Scorer(model, plan)

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa

        return pa.Table.from_batches([self.scorer(table)])


def score_ray(
    files: list[Path],
    plan: Plan,
    model: tuple[str, str, str | None],
    target: Path,
    *,
    batch_rows: int,
    workers: int,
) -> int:
    """Score ``files`` on the Ray cluster this process is connected to; ``model`` is (local
    folder, URI, tracking URI). The rows written into the Parquet file ``target``."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    parts = target.parent / (target.name + ".parts")
    # one core stays free of scoring actors, or reading and writing tasks never get one
    cores = int(ray.cluster_resources().get("CPU", 1))
    actors = max(1, min(workers, cores - 1))
    dataset = ray.data.read_parquet([str(f) for f in files], columns=plan.needed)
    scored = dataset.map_batches(
        RayScorer,
        fn_constructor_args=(model[0], model[1], model[2], plan),
        batch_format="pyarrow",
        batch_size=batch_rows,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=1,
    )
    scored.write_parquet(str(parts))
    return join_parts(sorted(parts.glob("*.parquet")), target, batch_rows)


def join_parts(parts: list[Path], target: Path, batch_rows: int) -> int:
    """Append the part files' batches, in order, to one Parquet file; the parts go."""
    import pyarrow.parquet as pq

    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for part in parts:
            schema = pq.ParquetFile(part).schema_arrow
            for batch in batches([part], list(schema.names), batch_rows):
                if writer is None:
                    writer = pq.ParquetWriter(target, batch.schema, compression="zstd")
                writer.write_batch(batch)
                rows += batch.num_rows
            part.unlink()
    finally:
        if writer is not None:
            writer.close()
    return rows
