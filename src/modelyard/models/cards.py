"""Model cards: what the platform knows about a model version, plus the sections people write.

Generated from the registry (version, tags, aliases, approvals, alias history, signature), the
training run (params, metrics, who and when), the datasets the run read (with their profiles)
and lineage; the editable sections (intended use, limitations, ethical considerations, notes)
come from the version, else from the model. Rendered as Markdown or as self-contained HTML
(every value escaped, no empty header row).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from modelyard.config import Settings
from modelyard.errors import NotFound
from modelyard.htmlpage.shell import escape, facts, overview, page, table
from modelyard.registry.entities import (
    CARD_SECTIONS,
    AliasEvent,
    ApprovalRequest,
    ModelVersion,
    RegisteredModel,
)
from modelyard.tracking.entities import Run


class CardSource(Protocol):
    """What a card is built from: ``modelyard.Client`` (tracking and registry)."""

    tracking_uri: str | None
    settings: Settings

    def get_version(self, name: str, version: int | None = None) -> ModelVersion: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def get_run(self, run_id: str) -> Run: ...
    def list_approval_requests(self, name: str | None = None) -> list[ApprovalRequest]: ...
    def get_alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]: ...


SECTION_TITLES = {
    "intended_use": "Intended use",
    "limitations": "Limitations",
    "ethical_considerations": "Ethical considerations",
    "notes": "Notes",
}


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


@dataclass
class DatasetSummary:
    uri: str
    num_rows: int | None
    columns: list[tuple[str, str, float]]  # name, type, missing rate
    context: str | None


@dataclass
class ModelCard:
    name: str
    version: ModelVersion
    model_description: str | None
    sections: dict[str, str]
    run: dict[str, Any] | None
    datasets: list[DatasetSummary] = field(default_factory=list)
    approvals: list[ApprovalRequest] = field(default_factory=list)
    alias_history: list[AliasEvent] = field(default_factory=list)

    # --- rendering -----------------------------------------------------------------------
    def _facts(self) -> list[tuple[str, str]]:
        v = self.version
        facts = [
            ("Version", str(v.version)),
            ("Flavor", v.flavor or "-"),
            ("Aliases", ", ".join(v.aliases) or "-"),
            ("Registered", f"{_when(v.created_time)} by {v.created_by or '-'}"),
            ("Source", v.source),
            ("Model digest (sha256 of model.yaml)", v.model_digest or "-"),
        ]
        if v.tags:
            facts.append(("Tags", ", ".join(f"{k}={val}" for k, val in sorted(v.tags.items()))))
        return facts

    def _signature_rows(self) -> tuple[list[str], list[list[str]]]:
        sig = self.version.signature or {}
        rows = []
        for side in ("inputs", "outputs"):
            specs = sig.get(side)
            for spec in specs if isinstance(specs, list) else [specs] if specs else []:
                if not isinstance(spec, dict):
                    continue  # a signature written by another tool: show what can be read
                shape = spec.get("shape")
                kind = str(spec.get("type") or spec.get("dtype") or "-")
                if spec.get("nullable"):
                    kind += " (nullable)"
                rows.append(
                    [
                        side[:-1],
                        str(spec.get("name") or "-"),
                        kind,
                        "-" if shape is None else str(shape),
                    ]
                )
        return ["input or output", "name", "type", "shape"], rows

    def _run_rows(self) -> dict[str, list[list[str]]]:
        if not self.run:
            return {}
        return {
            "Parameters": [[k, v] for k, v in sorted(self.run["params"].items())],
            "Metrics": [[k, f"{v:.6g}"] for k, v in sorted(self.run["metrics"].items())],
        }

    def _approval_rows(self) -> list[list[str]]:
        rows = []
        for r in self.approvals:
            votes = "; ".join(
                f"{v.decision.lower()} by {v.actor}" + (f" ({v.comment})" if v.comment else "")
                for v in r.votes
            )
            rows.append([r.alias, r.status, r.requested_by, _when(r.requested_time), votes or "-"])
        return rows

    def _alias_rows(self) -> list[list[str]]:
        return [
            [
                e.alias,
                "removed" if e.version is None else f"-> {e.version}",
                "-" if e.previous_version is None else str(e.previous_version),
                e.actor,
                _when(e.time),
            ]
            for e in self.alias_history
        ]

    def to_markdown(self) -> str:
        def table(head: list[str], rows: list[list[str]]) -> list[str]:
            if not rows:
                return ["_none recorded_", ""]
            out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            return [*out, ""]

        lines = [f"# Model card: {self.name} version {self.version.version}", ""]
        description = self.version.description or self.model_description
        if description:
            lines += [description, ""]
        lines += ["## Details", "", *table(["detail", "value"], [list(f) for f in self._facts()])]
        for key in CARD_SECTIONS:
            lines += [
                f"## {SECTION_TITLES[key]}",
                "",
                self.sections.get(key) or "_not written yet_",
                "",
            ]
        head, rows = self._signature_rows()
        lines += ["## Signature", "", *table(head, rows)]
        lines += ["## Training run", ""]
        if self.run:
            r = self.run
            lines += [
                f"Run `{r['run_id']}` ({r['run_name'] or '-'}) by {r['user'] or '-'}, "
                f"{_when(r['start_time'])} to {_when(r['end_time'])}, status {r['status']}.",
                "",
            ]
            for title, rows in self._run_rows().items():
                lines += [f"### {title}", "", *table(["key", "value"], rows)]
        else:
            lines += ["_no training run recorded_", ""]
        lines += ["## Training data", ""]
        if not self.datasets:
            lines += ["_no datasets recorded_", ""]
        for d in self.datasets:
            rows_text = "-" if d.num_rows is None else f"{d.num_rows:,}"
            lines += [f"### {d.uri} ({d.context or 'input'}, {rows_text} rows)", ""]
            lines += table(
                ["column", "type", "missing"], [[c, t, f"{m:.2%}"] for c, t, m in d.columns]
            )
        approvals = table(
            ["alias", "status", "requested by", "when", "decisions"], self._approval_rows()
        )
        history = table(["alias", "moved", "from", "by", "when"], self._alias_rows())
        lines += ["## Approvals", "", *approvals, "## Alias history", "", *history]
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        """The card as one self-contained page: no scripts, every value escaped, tables that
        scroll in their own box at a phone's width."""

        def block(head: list[str], rows: list[list[str]], label: str) -> str:
            return table(head, rows, label=label) if rows else "<p class='none'>none recorded</p>"

        def para(text: str) -> str:
            return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())

        v = self.version
        parts = [f"<h1>Model card: {escape(self.name)} version {v.version}</h1>"]
        description = v.description or self.model_description
        if description:
            parts.append(para(description))
        tiles: list[tuple[Any, str, str]] = [
            (v.version, "version", ""),
            (v.flavor or "-", "flavor", ""),
            (", ".join(v.aliases) or "none", "aliases", ""),
            (_when(v.created_time)[:10] if v.created_time else "-", "registered", ""),
        ]
        if self.run:
            tiles.append((self.run["status"], "training run", ""))
        parts += [overview(tiles, "Model overview"), "<h2>Details</h2>", facts(self._facts())]
        for key in CARD_SECTIONS:
            text = self.sections.get(key)
            parts += [
                f"<h2>{SECTION_TITLES[key]}</h2>",
                para(text) if text else "<p class='none'>not written yet</p>",
            ]
        head, rows = self._signature_rows()
        parts += ["<h2>Signature</h2>", block(head, rows, "signature"), "<h2>Training run</h2>"]
        if self.run:
            r = self.run
            parts.append(
                f"<p>Run <code>{escape(r['run_id'])}</code> ({escape(r['run_name'] or '-')}) by "
                f"{escape(r['user'] or '-')}, {_when(r['start_time'])} to "
                f"{_when(r['end_time'])}, status {escape(r['status'])}.</p>"
            )
            for title, found in self._run_rows().items():
                parts += [f"<h3>{title}</h3>", block(["key", "value"], found, title)]
        else:
            parts.append("<p class='none'>no training run recorded</p>")
        parts.append("<h2>Training data</h2>")
        if not self.datasets:
            parts.append("<p class='none'>no datasets recorded</p>")
        for d in self.datasets:
            rows_text = "-" if d.num_rows is None else f"{d.num_rows:,}"
            columns = [[c, t, f"{m:.2%}"] for c, t, m in d.columns]
            parts += [
                f"<h3>{escape(d.uri)} ({escape(d.context or 'input')}, {rows_text} rows)</h3>",
                block(["column", "type", "missing"], columns, f"columns of {d.uri}"),
            ]
        parts += [
            "<h2>Approvals</h2>",
            block(
                ["alias", "status", "requested by", "when", "decisions"],
                self._approval_rows(),
                "approvals",
            ),
            "<h2>Alias history</h2>",
            block(["alias", "moved", "from", "by", "when"], self._alias_rows(), "alias history"),
        ]
        return page(f"Model card: {self.name} v{v.version}", "".join(parts))


def build_card(client: CardSource, name: str, version: int | None = None) -> ModelCard:
    found = client.get_version(name, version)
    model = client.get_registered_model(name)
    sections = {**model.card, **{k: v for k, v in found.card.items() if v}}
    run = None
    datasets: list[DatasetSummary] = []
    if found.run_id:
        try:
            r = client.get_run(found.run_id)
        except NotFound:
            r = None
        if r is not None:
            run = {
                "run_id": r.info.run_id,
                "run_name": r.info.run_name,
                "user": r.info.user_id,
                "status": str(getattr(r.info.status, "value", r.info.status)),
                "start_time": r.info.start_time,
                "end_time": r.info.end_time,
                "params": dict(r.data.params),
                "metrics": dict(r.data.metrics),
            }
            datasets = _datasets_of(client, found.run_id)
    approvals = [a for a in client.list_approval_requests(name) if a.version == found.version]
    history = [
        e
        for e in client.get_alias_history(name)
        if found.version in (e.version, e.previous_version)
    ]
    return ModelCard(name, found, model.description, sections, run, datasets, approvals, history)


def _datasets_of(client: CardSource, run_id: str) -> list[DatasetSummary]:
    from modelyard.data.client import DataClient

    data = DataClient(client.tracking_uri, settings=client.settings)
    out = []
    for edge in data.store.edges("run", run_id):
        if edge.source.type != "dataset_version" or edge.target.id != run_id:
            continue
        name, _, number = edge.source.label.rpartition("@")
        if not number.isdigit():
            continue
        try:
            dv = data.get(name, int(number))
        except NotFound:
            continue
        columns = []
        if dv.profile is not None:
            columns = [(c.name, c.type, c.missing_rate) for c in dv.profile.columns.values()]
        out.append(DatasetSummary(dv.uri, dv.num_rows, columns, edge.context))
    return out
