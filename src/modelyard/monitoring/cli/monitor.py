"""``modelyard monitor drift REFERENCE CURRENT``: drift between two tables, as a table on the
terminal, JSON (``--json``) or an HTML report (``--html``). ``--fail-on-drift`` exits 1 when
the dataset drifts, so a CI job can gate on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.errors import InvalidArgument
from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.terminal import err, out, print_json, print_table

app = typer.Typer(
    help="Monitoring: drift between a reference and current data.", no_args_is_help=True
)

Source = Annotated[str, typer.Argument(help="A Parquet or CSV file, or dataset:NAME[@VERSION].")]


def _pairs(values: list[str], field: str) -> dict[str, str]:
    found = {}
    for item in values:
        column, sep, value = item.partition("=")
        if not sep or not column or not value:
            raise InvalidArgument(f"{field} {item!r}: expected COLUMN=VALUE", field=field)
        found[column] = value
    return found


@app.command()
def drift(
    reference: Source,
    current: Source,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    test: Annotated[
        list[str], typer.Option("--test", help="COLUMN=TEST, e.g. income=psi (repeatable).")
    ] = [],  # noqa: B006 - typer reads the default
    threshold: Annotated[
        list[str], typer.Option("--threshold", help="COLUMN=VALUE (repeatable).")
    ] = [],  # noqa: B006
    drift_share: Annotated[
        float, typer.Option(help="The dataset drifts when this share of columns do.")
    ] = 0.5,
    fail_on_drift: Annotated[bool, typer.Option(help="Exit 1 when the dataset drifts.")] = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Compare CURRENT with REFERENCE column by column."""
    from modelyard.monitoring import fluent
    from modelyard.tracking.fluent import set_tracking_uri

    if tracking_uri is not None:
        set_tracking_uri(tracking_uri)
    limits = {}
    for column, value in _pairs(threshold, "threshold").items():
        try:
            limits[column] = float(value)
        except ValueError:
            raise InvalidArgument(
                f"threshold for {column!r} must be a number, not {value!r}", field="threshold"
            ) from None
    report = fluent.drift(
        reference,
        current,
        tests=_pairs(test, "test") or None,
        thresholds=limits or None,
        drift_share=drift_share,
    )
    if html is not None:
        report.to_html(html, title=f"Drift: {current} against {reference}")
        err.print(f"wrote {html}")
    if as_json:
        print_json(report.to_dict())
    else:
        rows = [
            [
                c.name,
                c.kind,
                c.test or c.message,
                "" if c.score is None else f"{c.score:.4g}",
                "" if c.threshold is None else f"{c.threshold:g}",
                "DRIFT" if c.drifted else "",
            ]
            for c in report.columns
        ]
        print_table(
            f"{len(report.drifted_columns)} of {len(report.columns)} columns drifted",
            ["column", "kind", "test", "score", "threshold", "drift"],
            rows,
        )
        if report.only_in_reference or report.only_in_current:
            out.print(
                f"schema: missing now {report.only_in_reference}, new {report.only_in_current}"
            )
        out.print("dataset drift" if report.drifted else "no dataset drift")
    if fail_on_drift and report.drifted:
        raise typer.Exit(1)
