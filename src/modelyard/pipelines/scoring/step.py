"""``batch_predict``: the built-in step that scores a Parquet dataset with a model and logs the
predictions as a new dataset version, with lineage from the input version and the model.

Everything is checked before a row is scored (the model resolves and has a column
signature; every file is Parquet and holds the columns the signature needs, with types it
takes; there are rows), and the scored file is written in a staging folder that is removed
whatever happens: a failed scoring leaves no dataset version and no stray file. The run the
lineage hangs on is the step's own inside a pipeline, else one made here once the scoring
has succeeded.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from modelyard.config import Settings
from modelyard.errors import InvalidArgument
from modelyard.pipelines.context import step_run
from modelyard.pipelines.scoring.lineage import CONTEXT, check_embedded, link_model
from modelyard.pipelines.scoring.local import score_local
from modelyard.pipelines.scoring.model import ScoringModel, load_scoring_model
from modelyard.pipelines.scoring.ray_data import ray_ready, score_ray
from modelyard.pipelines.scoring.scorer import Plan, Scorer
from modelyard.pipelines.scoring.sources import Source, check_columns, resolve_source
from modelyard.platform.current import chosen_uri

log = logging.getLogger("modelyard.pipelines")
ENGINES = ("auto", "local", "ray")
BATCH_ROWS = 65_536
SCORED_FILE = "scored.parquet"


def batch_predict(
    model_uri: str,
    dataset: Any,
    *,
    output: str | None = None,
    columns: list[str] | None = None,
    batch_rows: int = BATCH_ROWS,
    workers: int | None = None,
    engine: str = "auto",
    prediction_column: str = "prediction",
) -> Any:
    """Score ``dataset`` with the model ``model_uri`` and log the predictions as the next
    version of ``output`` (default ``<input dataset>-scored``); returns that DatasetVersion.

    ``dataset``: a DatasetVersion, ``"dataset:name@3"`` (``@latest``) or a path to a Parquet
    file or a folder of them, read ``batch_rows`` rows at a time, never whole. ``columns``:
    the input columns copied beside the prediction (None: all of them; ``[]``: none).
    ``engine``: ``local`` (``workers`` threads, default up to 4), ``ray`` (Ray Data on the
    cluster ``ray.init`` reached) or ``auto`` (Ray when this process is connected to a
    cluster). The model's ONNX copy scores when it has one, else its own predict (logged)."""
    _check_options(batch_rows, workers, engine, prediction_column, columns)
    settings = Settings.from_env()
    uri = chosen_uri(settings)
    check_embedded(uri, settings)
    threads = workers or min(4, os.cpu_count() or 1)
    model = load_scoring_model(model_uri, uri, threads)
    source = resolve_source(dataset, uri)
    name = _output_name(output, source)
    plan = _plan(model, source, columns, prediction_column)
    check_columns(source, model.features, plan.keep)
    chosen = ("ray" if ray_ready() else "local") if engine == "auto" else engine
    staging = Path(tempfile.mkdtemp(prefix="scoring-", dir=_mkdir(settings.cache_dir / "staging")))
    try:
        target = staging / SCORED_FILE
        started = time.perf_counter()
        rows = _score(chosen, source, plan, model, uri, target, batch_rows, threads)
        seconds = time.perf_counter() - started
        log.info(
            "batch_predict: scored %d rows of %s with %s (%s, %s engine) in %.1f s",
            rows, source.label, model.uri, model.loaded.runtime, chosen, seconds,
        )  # fmt: skip
        tags = {
            "modelyard.model": model.uri,
            "modelyard.input": source.label,
            "modelyard.runtime": model.loaded.runtime,
        }
        return _record(uri, settings, target, name, tags, source, model)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_options(
    batch_rows: Any, workers: Any, engine: Any, prediction_column: Any, columns: Any
) -> None:
    if not isinstance(batch_rows, int) or isinstance(batch_rows, bool) or batch_rows < 1:
        raise InvalidArgument(
            f"batch_rows must be a positive integer, not {batch_rows!r}", field="batch_rows"
        )
    if workers is not None and (
        not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= 256
    ):
        raise InvalidArgument(
            f"workers must be an integer from 1 to 256, not {workers!r}", field="workers"
        )
    if engine not in ENGINES:
        raise InvalidArgument(
            f"engine must be one of {', '.join(ENGINES)}, not {engine!r}", field="engine"
        )
    if not isinstance(prediction_column, str) or not prediction_column:
        raise InvalidArgument(
            "prediction_column must be a non-empty column name", field="prediction_column"
        )
    if columns is not None and (
        not isinstance(columns, list | tuple) or not all(isinstance(c, str) for c in columns)
    ):
        raise InvalidArgument("columns must be a list of column names", field="columns")


def _output_name(output: str | None, source: Source) -> str:
    from modelyard.data.manifest import check_dataset_name

    name = output if output is not None else f"{source.name}-scored"
    check_dataset_name(name)
    return name


def _plan(model: ScoringModel, source: Source, columns: list[str] | None, prediction: str) -> Plan:
    features = [name for name, _ in model.features]
    if columns is None:  # every column of the data (pandas' stored index left out)
        keep = [n for n in source.schema.names if not n.startswith("__index_level_")]
    else:
        keep = list(dict.fromkeys(columns))
    clash = [n for n in keep if n == prediction or n.startswith(f"{prediction}_")]
    if clash:
        raise InvalidArgument(
            f"column {clash[0]!r} of the data would collide with the predictions; name them "
            "with prediction_column= or leave the column out with columns=",
            field="prediction_column",
        )
    return Plan(features, keep, prediction)


def _score(
    engine: str,
    source: Source,
    plan: Plan,
    model: ScoringModel,
    uri: str | None,
    target: Path,
    batch_rows: int,
    workers: int,
) -> int:
    if engine == "ray":
        try:
            import ray.data  # noqa: F401 - present, or the clear error below
        except ImportError:
            raise InvalidArgument(
                "engine='ray' needs Ray Data: pip install 'ray[data]'", field="engine"
            ) from None
        where = (str(model.loaded.path), model.uri, uri)
        return score_ray(source.files, plan, where, target, batch_rows=batch_rows, workers=workers)
    scorer = Scorer(model.loaded, plan)
    return score_local(
        source.files, plan.needed, scorer, target, batch_rows=batch_rows, workers=workers
    )


def _record(
    uri: str | None,
    settings: Settings,
    target: Path,
    name: str,
    tags: dict[str, str],
    source: Source,
    model: ScoringModel,
) -> Any:
    """Log the scored file as the next version of ``name`` and its lineage: the input version
    and the model into the run, the run into the scored version."""
    from modelyard.data.client import DataClient
    from modelyard.pipelines.services import Services

    services = Services(settings, uri)
    run_id = step_run.get()
    own = run_id is None
    if run_id is None:
        experiment = services.experiment_id("batch_predict")
        made = services.tracking.create_run(experiment, run_name=f"batch_predict {name}")
        run_id = str(made.info.run_id)
    try:
        services.tracking.flush()
        data = DataClient(uri, settings=settings)
        version = data.log_dataset(target, name, tags=tags)
        data.link_run(version.name, version.version, run_id, relation="output", context=CONTEXT)
        if source.version is not None:
            data.link_run(source.version.name, source.version.version, run_id, context=CONTEXT)
        if model.node is not None:
            link_model(uri, settings, model.node, run_id)
    except BaseException:
        if own:
            services.tracking.set_terminated(run_id, "FAILED")
        raise
    if own:
        services.tracking.set_terminated(run_id, "FINISHED")
        services.tracking.flush()
    return version


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
