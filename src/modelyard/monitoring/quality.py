"""Model performance from logged predictions and the labels that arrived for them, per time
window and per slice.

The predictions frame (``MonitoringClient.predictions``) already carries each row's label,
joined by request id and row, so a report is always computed from the labels known now: a
label that arrives later fills in its window the next time (backfill is recomputation).
Rows without a label count as predictions, not in the metrics; ``label_coverage`` says how
many of a window's rows have one.

The task is found from the labelled rows unless named (from the predictions alone while
there are none): ``regression`` when labels are numbers with a fraction or more than 20
distinct values, or numbers while the predictions have fractions outside [0, 1];
``probability`` when every prediction is a number in [0, 1], some with a fraction (the
model returns one class's probability: ``positive``, else 1 of labels 0/1; any other labels
are refused, naming the classes, rather than scored as a guess); ``classification``
otherwise (numbers with fractions against classes are refused too). See ``metrics`` for what
each computes and ``classes`` for how classes compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.errors import InvalidArgument
from modelyard.monitoring import metrics
from modelyard.monitoring.classes import (
    class_key,
    class_keys,
    class_order,
    larger_class,
    named_class,
)
from modelyard.monitoring.report_series import performance_html

Array = np.ndarray[Any, Any]
TASKS = ("classification", "probability", "regression")
_WINDOW = re.compile(r"\s*(\d+)\s*(s|min|m|h|d|w)\s*")
_UNITS = {"s": "s", "min": "min", "m": "min", "h": "h", "d": "D", "w": "W"}


def window_offset(window: str) -> str:
    """A window such as "15min", "1h", "1d" or "1w" as a pandas frequency."""
    found = _WINDOW.fullmatch(str(window))
    if not found or int(found.group(1)) == 0:
        raise InvalidArgument(
            f"window {window!r}: expected a count and a unit, e.g. 15min, 1h, 1d, 1w",
            field="window",
        )
    count, unit = int(found.group(1)), _UNITS[found.group(2)]
    seconds = {"s": 1, "min": 60, "h": 3600, "D": 86400, "W": 7 * 86400}[unit] * count
    if seconds > 366 * 86400:
        raise InvalidArgument(f"window {window!r} is longer than a year", field="window")
    return f"{count * 7}D" if unit == "W" else f"{count}{unit}"


def window_ms(window: str) -> int:
    """A window's length in milliseconds."""
    import pandas as pd

    return int(pd.Timedelta(window_offset(window)).total_seconds() * 1000)


@dataclass(frozen=True)
class PerformanceReport:
    task: str
    window: str
    by: str | None
    overall: dict[str, Any]
    windows: list[dict[str, Any]] = field(default_factory=list)

    def to_frame(self) -> Any:
        """One row per window (and slice): ``window``, the slice column, ``predictions``,
        ``labeled``, ``label_coverage`` and the metrics."""
        import pandas as pd

        return pd.DataFrame(self.windows)

    def to_html(self, path: str | Path | None = None, *, title: str = "Performance") -> str:
        """Each metric over the windows (a line per slice), as one self-contained page;
        written to ``path`` when given."""
        html = performance_html(
            title,
            task=self.task,
            window=self.window,
            by=self.by,
            overall=self.overall,
            windows=self.windows,
        )
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "window": self.window,
            "by": self.by,
            "overall": self.overall,
            "windows": self.windows,
        }


def _task(predictions: Any, labels: Any) -> str:
    """The task the labelled rows look like; ``_scored_class`` then checks that scores have
    two classes to be the probability of one of."""
    import pandas as pd

    numeric_pred = pd.to_numeric(predictions, errors="coerce")
    numeric_label = pd.to_numeric(labels, errors="coerce")
    labels_numeric = not numeric_label.isna().any() and not labels.map(_is_bool).any()
    scores = not numeric_pred.isna().any() and bool((numeric_pred % 1 != 0).any())
    if labels_numeric:
        values = numeric_label.to_numpy(dtype=np.float64)
        if (values % 1 != 0).any() or len(np.unique(values)) > 20:
            return "regression"
    if scores and ((numeric_pred >= 0) & (numeric_pred <= 1)).all():
        return "probability"
    if scores and labels_numeric:  # a rating of 1-5 predicted as 3.7
        return "regression"
    if scores:
        shown = ", ".join(repr(v) for v in sorted(set(class_keys(labels)), key=class_order)[:5])
        raise InvalidArgument(
            "the predictions are numbers with fractions (e.g. "
            f"{float(numeric_pred[numeric_pred % 1 != 0].iloc[0])!r}) but the labels are "
            f"classes ({shown}): a number cannot be scored against a class; "
            "log the predicted class, or name the task",
            field="label",
        )
    return "classification"


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _scored_class(label_keys: Array, positive: Any) -> str:
    """The class whose probability the predictions are: ``positive``, else 1 for labels 0/1.
    Scores against other classes without ``positive`` (labels "yes"/"no", or 5/10), or
    against more than two classes, are refused: which class a score is of cannot be read
    from the data, and a guess reports confident wrong numbers."""
    classes = sorted(set(label_keys.tolist()), key=class_order)
    shown = ", ".join(repr(c) for c in classes[:5]) + (", ..." if len(classes) > 5 else "")
    if positive is not None:
        key = class_key(positive)
        if len(set(classes) - {key}) <= 1:
            return key
        raise InvalidArgument(
            f"the predictions are scores in [0, 1], the probability of one class, but the "
            f"labels have {len(classes)} classes ({shown})",
            field="label",
        )
    if set(classes) <= {"0", "1"}:
        return "1"
    raise InvalidArgument(
        f"the predictions are scores in [0, 1] but the labels are classes ({shown}), not 0/1: "
        "name the class a score is the probability of with positive=",
        field="positive",
    )


def _task_of_predictions(predictions: Any) -> str:
    import pandas as pd

    numbers = pd.to_numeric(predictions, errors="coerce")
    if numbers.isna().any() or not (numbers % 1 != 0).any():
        return "classification"
    return "probability" if ((numbers >= 0) & (numbers <= 1)).all() else "regression"


def _metrics(task: str, truth: Any, predicted: Any, positive: Any) -> dict[str, Any]:
    import pandas as pd

    if task == "regression":
        return metrics.regression(
            pd.to_numeric(truth).to_numpy(np.float64), pd.to_numeric(predicted).to_numpy(np.float64)
        )
    if task == "probability":
        keys = class_keys(truth)
        hit = (keys == _scored_class(keys, positive)).astype(np.float64)
        return metrics.probabilistic(hit, pd.to_numeric(predicted).to_numpy(np.float64))
    pos = None if positive is None else class_key(positive)  # 1, 1.0, True, "1": one class
    return metrics.classification(class_keys(truth), class_keys(predicted), pos)


PROBABILITY = "probability."  # the prediction log's probability.<class> columns


def _score_column(frame: Any, positive: Any) -> tuple[str, str] | None:
    """The logged probability of the positive class of a two-class model, and that class's
    key: ``positive`` when given, else the larger by value of the classes seen (labels,
    predictions, probability columns)."""
    columns = [c for c in frame.columns if c.startswith(PROBABILITY)]
    if len(columns) != 2:
        return None
    labeled = frame[frame["label"].notna()]
    seen = {*class_keys(labeled["label"]), *class_keys(frame["prediction"].dropna())}
    named = {named_class(c[len(PROBABILITY) :], seen): c for c in columns}
    seen |= set(named)
    if positive is not None:
        key = class_key(positive)
    elif len(seen) == 2:
        key = larger_class(seen)
    else:
        return None
    return (named[key], key) if key in named else None


def _probability_metrics(labeled: Any, score: str, positive_key: str) -> dict[str, Any]:
    """ROC AUC, log loss and calibration of the logged probabilities (rows that have one)."""
    rows = labeled[labeled[score].notna()]
    if not len(rows):
        return dict.fromkeys(("roc_auc", "log_loss", "calibration_error"))
    truth = (class_keys(rows["label"]) == positive_key).astype(np.float64)
    values = rows[score].to_numpy(dtype=np.float64)
    return {
        "roc_auc": metrics.roc_auc(truth, values),
        "log_loss": metrics.log_loss(truth, values),
        "calibration_error": metrics.calibration_error(truth, values),
    }


def _row(
    frame: Any, task: str, positive: Any, score: tuple[str, str] | None = None
) -> dict[str, Any]:
    # a row needs its label and its prediction to be scored (a null prediction would make
    # every regression metric NaN, or turn a probability model into a classifier)
    labeled = frame[frame["label"].notna() & frame["prediction"].notna()]
    found: dict[str, Any] = {
        "predictions": len(frame),
        "labeled": len(labeled),
        "label_coverage": len(labeled) / len(frame) if len(frame) else None,
    }
    found.update(_metrics(task, labeled["label"], labeled["prediction"], positive))
    if score is not None and task == "classification":
        found.update(_probability_metrics(labeled, *score))
    return found


def performance(
    frame: Any,
    *,
    window: str = "1d",
    by: str | None = None,
    task: str | None = None,
    positive: Any = None,
) -> PerformanceReport:
    """Metrics of ``frame`` (predictions with a ``label`` column) overall and per ``window``
    (and per value of the column ``by``)."""
    offset = window_offset(window)
    if task is not None and task not in TASKS:
        raise InvalidArgument(f"task must be one of {list(TASKS)}, not {task!r}", field="task")
    if by is not None and by not in frame.columns:
        raise InvalidArgument(f"no column {by!r} to slice by", field="by")
    frame = _plain_values(frame)
    if len(frame) and frame["prediction"].map(lambda v: isinstance(v, list | dict)).any():
        raise InvalidArgument(
            "performance needs one value per prediction; these predictions are tensors",
            field="prediction",
        )
    labeled = frame[frame["label"].notna() & frame["prediction"].notna()] if len(frame) else frame
    if task is None:
        if len(labeled):
            task = _task(labeled["prediction"], labeled["label"])
        else:  # no labels yet: what the predictions look like
            known = frame["prediction"].dropna() if len(frame) else frame
            task = _task_of_predictions(known) if len(known) else "classification"
    score = _score_column(frame, positive) if len(frame) else None
    overall = _row(frame, task, positive, score)
    windows: list[dict[str, Any]] = []
    if len(frame):
        starts = frame["timestamp"].dt.floor(offset)
        keys = [starts] if by is None else [starts, frame[by]]
        for key, part in frame.groupby(keys, sort=True, dropna=False):
            values = key if isinstance(key, tuple) else (key,)
            row: dict[str, Any] = {"window": values[0].isoformat()}
            if by is not None:
                row[by] = None if _missing(values[1]) else _plain(values[1])
            row.update(_row(part, task, positive, score))
            windows.append(row)
    return PerformanceReport(task, window, by, overall, windows)


def _plain_values(frame: Any) -> Any:
    """Categorical and extension-typed labels and predictions as plain values (a category is
    its value; a missing one is None), so the checks below see what a user sees."""
    import pandas as pd

    changed = {}
    for column in ("prediction", "label"):
        if column in frame.columns and isinstance(frame[column].dtype, pd.CategoricalDtype):
            values = frame[column].astype(object)
            changed[column] = values.where(values.notna(), None)
    return frame.assign(**changed) if changed else frame


def _missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):
        return value is None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
