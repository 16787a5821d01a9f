"""``modelyard datasets ...``: list, show, log, get, diff, validate, expect, delete.

``validate`` exits 1 when the data fails its expectations, so a CI job can gate on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelyard.errors import InvalidArgument
from modelyard.platform.cli_options import Json, TrackingUri, first, parse_pairs
from modelyard.terminal import out, print_json, print_table

if TYPE_CHECKING:
    from modelyard.data.client import DataClient
    from modelyard.data.expectations import Expectations
    from modelyard.data.validation import ValidationReport

app = typer.Typer(
    help="Datasets: versioned snapshots, profiles, expectations.", no_args_is_help=True
)

Version = Annotated[int | None, typer.Option("--version", "-v", help="Version (default: latest).")]


def _client(uri: str | None) -> DataClient:
    from modelyard.data.client import DataClient  # Arrow and pandas load only when used

    return DataClient(uri)


def _suite(path: Path) -> Expectations:
    from modelyard.data.expectations import Expectations

    return Expectations.load(path)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(help="At most this many, by name.")] = 1000,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """List datasets with their latest version."""
    found = first(lambda n: _client(tracking_uri).list_datasets(limit=n), limit, "datasets")
    if as_json:
        print_json([d.to_dict() for d in found])
        return
    print_table(
        "Datasets",
        ["name", "kind", "latest", "versions"],
        [[d.name, d.kind, d.latest_version, d.versions] for d in found],
    )


@app.command()
def show(
    name: str,
    version: Version = None,
    tracking_uri: TrackingUri = None,
    html: Annotated[Path | None, typer.Option(help="Write the profile as HTML here.")] = None,
    as_json: Json = False,
) -> None:
    """Show a version: its files, schema and profile summary."""
    v = _client(tracking_uri).get(name, version)
    if html is not None:
        if v.profile is None:
            raise InvalidArgument(f"{v.uri} has no profile (it is a set of files)", field="html")
        from modelyard.data.profile_html import profile_html

        page = profile_html(v.profile, f"Profile: {v.name} version {v.version}")
        html.write_text(page, encoding="utf-8")
    if as_json:
        print_json(v.to_dict())
        return
    rows = "" if v.num_rows is None else f", {v.num_rows:,} rows"
    out.print(
        f"[bold]{v.name}[/] version {v.version} — {v.format}, {v.num_files} file(s), "
        f"{_size(v.num_bytes)}{rows}\ndigest {v.digest}\nsource {v.source or '-'}"
    )
    if v.tags:
        out.print("tags " + ", ".join(f"{k}={val}" for k, val in v.tags.items()))
    if v.profile is not None:
        print_table(
            "Profile",
            ["column", "type", "missing", "distinct", "min", "max", "mean"],
            [
                [
                    c.name,
                    c.type,
                    f"{c.missing:,}",
                    f"{c.distinct:,}" + ("" if c.distinct_exact else "~"),
                    _as_text(c, "min"),
                    _as_text(c, "max"),
                    _fmt(c.mean if c.n_finite else None),
                ]
                for c in v.profile.columns.values()
            ],
        )
    elif v.kind == "files":
        print_table(
            "Files",
            ["path", "size", "sha256"],
            [[e.path, _size(e.size), e.sha256[:16]] for e in v.manifest[:200]],
        )
    if html is not None:
        out.print(f"profile written to {html}")


def _as_text(col: Any, which: str) -> str:
    """min/max as a person reads them: dates and timestamps as ISO text, numbers short."""
    shown = col.to_dict()[f"{which}_text"]
    return str(shown) if shown is not None else _fmt(getattr(col, which))


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@app.command()
def log(
    path: Path,
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name.")],
    tracking_uri: TrackingUri = None,
    tag: Annotated[list[str] | None, typer.Option(help="key=value, repeatable.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    expectations: Annotated[
        Path | None, typer.Option(help="A suite (YAML) to store with the version.")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Record as an input of this run.")] = None,
    context: Annotated[str | None, typer.Option(help="training, evaluation, ...")] = None,
    as_json: Json = False,
) -> None:
    """Log a file or folder as the next version of a dataset (identical data: same version)."""
    suite = _suite(expectations) if expectations is not None else None
    v = _client(tracking_uri).log_dataset(
        path,
        name,
        tags=parse_pairs(tag),
        description=description,
        expectations=suite,
        run_id=run_id,
        context=context,
    )
    if as_json:
        print_json(v.to_dict(with_profile=False))
    else:
        out.print(f"[bold]{v.name}[/] version {v.version} ({v.digest[:12]}, {_size(v.num_bytes)})")


@app.command()
def get(
    name: str,
    dest: Annotated[Path, typer.Argument(help="Folder to copy the snapshot into.")],
    version: Version = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Copy a version's files into a folder (a link already there is replaced, not followed)."""
    client = _client(tracking_uri)
    v = client.get(name, version)
    client.download(name, dest, v.version)
    out.print(f"{v.uri}: {v.num_files} file(s) written to {dest}")


@app.command()
def diff(
    name: str,
    a: int,
    b: int,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """What changed between two versions: columns, rows, statistics, files."""
    d = _client(tracking_uri).diff(name, a, b)
    if as_json:
        print_json(d.to_dict())
        return
    if d.same:
        out.print(f"{name} v{a} and v{b} are identical")
        return
    out.print(f"[bold]{name}[/] v{a} -> v{b}")
    if d.rows_a is not None:
        out.print(
            f"rows {d.rows_a:,} -> {d.rows_b:,}: +{d.rows_added or 0:,} added, "
            f"-{d.rows_removed or 0:,} removed"
        )
    for label, items in (
        ("columns added", d.columns_added),
        ("columns removed", d.columns_removed),
        ("files added", d.files_added),
        ("files removed", d.files_removed),
        ("files changed", d.files_changed),
    ):
        if items:
            out.print(f"{label}: {', '.join(items)}")
    for col, (ta, tb) in d.type_changes.items():
        out.print(f"type of {col}: {ta} -> {tb}")
    if d.stat_changes:
        print_table(
            "Statistics that changed",
            ["column", "statistic", f"v{a}", f"v{b}"],
            [
                [col, stat, _fmt(x), _fmt(y)]
                for col, stats in d.stat_changes.items()
                for stat, (x, y) in stats.items()
            ],
        )


@app.command()
def validate(
    data: Annotated[
        str, typer.Argument(help="A Parquet/CSV file, or name[@version] of a dataset.")
    ],
    suite: Annotated[
        Path | None, typer.Option(help="Suite YAML (default: the dataset version's own).")
    ] = None,
    tracking_uri: TrackingUri = None,
    html: Annotated[Path | None, typer.Option(help="Write the report as HTML here.")] = None,
    as_json: Json = False,
) -> None:
    """Validate data against expectations; exit code 1 when any rule fails."""
    rules = _suite(suite) if suite is not None else None
    client = _client(tracking_uri)
    target: Any = Path(data)
    if not target.exists():
        name, _, number = data.partition("@")
        if number and not (number.isascii() and number.isdigit()):
            raise InvalidArgument(f"{data!r}: the version after '@' must be a number", field="data")
        target = client.get(name, int(number) if number else None)
    report = client.validate(target, rules)
    if html is not None:
        html.write_text(report.to_html(f"Validation of {data}"), encoding="utf-8")
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: ValidationReport) -> None:
    print_table(
        f"{'PASSED' if report.ok else 'FAILED'}: {len(report.results)} rules, "
        f"{len(report.failures)} failed, {report.num_rows:,} rows",
        ["rule", "result", "observed", "expected"],
        [
            [r.label, "pass" if r.ok else "FAIL", r.observed, r.expected]
            for r in report.results
            if not r.ok
        ]
        or [["all rules", "pass", "", ""]],
    )
    for r in report.failures:
        if r.sample:
            out.print(f"{r.label}: offending rows {[s.get('row') for s in r.sample]}")


@app.command()
def expect(
    name: str,
    version: Version = None,
    tracking_uri: TrackingUri = None,
    infer: Annotated[
        Path | None, typer.Option(help="Write a suite inferred from the profile to this file.")
    ] = None,
    attach: Annotated[
        Path | None, typer.Option(help="Store this suite (YAML) with the version.")
    ] = None,
) -> None:
    """Infer an expectation suite from a version's profile, or attach one to the version."""
    client = _client(tracking_uri)
    v = client.get(name, version)
    if infer is None and attach is None:
        raise InvalidArgument("give --infer FILE or --attach FILE", field="infer")
    if infer is not None:
        if v.profile is None:
            raise InvalidArgument(f"{v.uri} has no profile", field="infer")
        from modelyard.data.expectations import Expectations

        Expectations.from_profile(v.profile).save(infer)
        out.print(f"suite inferred from {v.uri} written to {infer}")
    if attach is not None:
        client.set_expectations(v.name, v.version, _suite(attach))
        out.print(f"suite {attach} attached to {v.uri}")


@app.command()
def delete(
    name: str,
    version: Annotated[int, typer.Option("--version", "-v")],
    force: Annotated[bool, typer.Option(help="Also delete the lineage edges that use it.")] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Delete a version (refused while runs or models use it, unless --force)."""
    removed = _client(tracking_uri).delete_version(name, version, force=force)
    out.print(f"{name} v{version} deleted ({removed} lineage edge(s) removed)")
