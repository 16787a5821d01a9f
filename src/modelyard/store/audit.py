"""The append-only audit log: every mutation of tracking, data and registry records, hash-chained.

An entry is written in the same transaction as the change it describes, so a change and its
entry land together or not at all. Entries carry consecutive sequence numbers and each one's
hash covers its content and the previous entry's hash; the single ``audit_head`` row holds the
last sequence number and hash and is locked FOR UPDATE while appending, so concurrent writers
extend one chain. ``verify`` recomputes the chain and names every changed, removed or
reordered entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.identity import current_actor
from modelyard.store.database import Database
from modelyard.store.metadata import metadata

GENESIS = "0" * 64
MAX_VALUE_CHARS = 16_384

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(512), nullable=False),
    sa.Column("before", sa.Text, nullable=True),  # JSON
    sa.Column("after", sa.Text, nullable=True),  # JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # the project of the object (None: of none, or written before projects existed); the
    # hash covers it when it is set, so entries from before hash as they always did
    sa.Column("project", sa.String(64), nullable=True),
    sa.Index("ix_audit_log_object", "object_type", "object_id"),
    sa.Index("ix_audit_log_project_seq", "project", "seq"),
    sa.Index("ix_audit_log_time", "time"),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)


@dataclass(frozen=True)
class AuditEvent:
    """What changed: ``before``/``after`` are small JSON values (None for create/delete)."""

    action: str
    object_type: str
    object_id: str
    before: Any = None
    after: Any = None
    project: str | None = None  # the object's project; None: of none


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: int
    actor: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    hash: str
    project: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "before": self.before,
            "after": self.after,
            "hash": self.hash,
            "project": self.project,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        given: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**given)


@dataclass
class AuditCheck:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "problems": self.problems,
        }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    if len(text) > MAX_VALUE_CHARS:  # keep entries small: a digest stands for a large value
        digest = hashlib.sha256(text.encode()).hexdigest()
        return orjson.dumps({"truncated": True, "sha256": digest, "chars": len(text)}).decode()
    return text


def entry_hash(row: Any, prev_hash: str) -> str:
    """The SHA-256 of an entry and the hash before it; the project counts only when set, so
    entries written before projects existed hash as they always did."""
    fields = [
        row["seq"],
        row["time"],
        row["actor"],
        row["action"],
        row["object_type"],
        row["object_id"],
        row["before"],
        row["after"],
        prev_hash,
    ]
    project = row.get("project")
    if project is not None:
        fields.append(project)
    return hashlib.sha256(orjson.dumps(fields)).hexdigest()


def record(conn: Connection, events: Sequence[AuditEvent], *, time_ms: int) -> None:
    """Append ``events`` to the chain inside the caller's write transaction.

    Call it last in the transaction: the head row stays locked until commit.
    """
    if not events:
        return
    actor = current_actor().name
    head = conn.execute(_HEAD_FOR_UPDATE).first()
    seq, prev = (0, GENESIS) if head is None else (int(head[0]), str(head[1]))
    rows = []
    for event in events:
        seq += 1
        row = {
            "seq": seq,
            "time": time_ms,
            "actor": actor,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": str(event.object_id)[:512],
            "before": _text(event.before),
            "after": _text(event.after),
            "project": event.project,
        }
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(row, prev)
        rows.append(row)
    conn.execute(_APPEND, rows)
    if head is None:
        conn.execute(audit_head.insert().values(id=1, last_seq=seq, last_hash=prev))
    else:
        conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})


# built once: an artifact or a run batch appends an entry in every write transaction, and
# building these statements anew each time cost as much as running them
_HEAD_FOR_UPDATE = (
    sa.select(audit_head.c.last_seq, audit_head.c.last_hash)
    .where(audit_head.c.id == 1)
    .with_for_update()
)
_APPEND = audit_log.insert()
_MOVE_HEAD = (
    audit_head.update()
    .where(audit_head.c.id == 1)
    .values(last_seq=sa.bindparam("new_seq"), last_hash=sa.bindparam("new_hash"))
)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=int(row["seq"]),
        time=int(row["time"]),
        actor=row["actor"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        before=None if row["before"] is None else orjson.loads(row["before"]),
        after=None if row["after"] is None else orjson.loads(row["after"]),
        hash=row["hash"],
        project=row["project"],
    )


def query(
    db: Database,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: int | None = None,
    until: int | None = None,
    after_seq: int = 0,
    limit: int = 100,
    projects: Collection[str] | None = None,
) -> list[AuditEntry]:
    """Entries in chain order, filtered; ``action`` ending in '.' and ``object_id`` ending in
    '/' match a prefix; ``projects``: only entries of these projects (None: every entry,
    those of no project too)."""
    q = sa.select(audit_log).where(audit_log.c.seq > after_seq)
    if projects is not None:
        q = q.where(audit_log.c.project.in_(sorted(projects)))
    if object_type is not None:
        q = q.where(audit_log.c.object_type == object_type)
    if object_id is not None:
        q = q.where(
            audit_log.c.object_id.startswith(object_id, autoescape=True)
            if object_id.endswith("/")
            else audit_log.c.object_id == object_id
        )
    if actor is not None:
        q = q.where(audit_log.c.actor == actor)
    if action is not None:
        q = q.where(
            audit_log.c.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else audit_log.c.action == action
        )
    if since is not None:
        q = q.where(audit_log.c.time >= since)
    if until is not None:
        q = q.where(audit_log.c.time <= until)
    with db.read() as conn:
        rows = conn.execute(q.order_by(audit_log.c.seq).limit(limit)).mappings().all()
    return [_entry(r) for r in rows]


def _rows(db: Database, page: int = 5_000) -> Iterator[Any]:
    last = -1
    while True:
        with db.read() as conn:
            rows = (
                conn.execute(
                    sa.select(audit_log)
                    .where(audit_log.c.seq > last)
                    .order_by(audit_log.c.seq)
                    .limit(page)
                )
                .mappings()
                .all()
            )
        if not rows:
            return
        yield from rows
        last = int(rows[-1]["seq"])


def verify(db: Database, *, max_problems: int = 100) -> AuditCheck:
    """Recompute the chain from the first entry; every break is named by its sequence number."""
    check = AuditCheck()
    expected_seq, prev = 1, GENESIS

    def problem(text: str) -> None:
        if len(check.problems) < max_problems:
            check.problems.append(text)

    with db.read() as conn:
        head = conn.execute(sa.select(audit_head.c.last_seq, audit_head.c.last_hash)).first()
    # entries committed after the head was read are checked by the next verify
    stop = None if head is None else int(head[0])
    for row in _rows(db):
        if stop is not None and int(row["seq"]) > stop:
            break
        check.entries += 1
        seq = int(row["seq"])
        if seq != expected_seq:
            problem(
                f"entries {expected_seq}..{seq - 1} are missing (removed)"
                if seq > expected_seq
                else f"entry {seq} is out of order"
            )
        if row["prev_hash"] != prev:
            problem(f"entry {seq} does not follow entry {seq - 1} (removed or reordered)")
        if entry_hash(row, row["prev_hash"]) != row["hash"]:
            problem(f"entry {seq} ({row['action']} {row['object_id']}) was changed")
        prev = row["hash"]
        expected_seq = seq + 1
    if head is not None:
        check.head_seq, check.head_hash = int(head[0]), str(head[1])
        if check.head_seq != expected_seq - 1 or check.head_hash != prev:
            problem(
                f"the chain ends at entry {expected_seq - 1} but the head records entry "
                f"{check.head_seq} (the latest entries were removed or changed)"
            )
    elif check.entries:
        problem("the audit head row is missing")
    return check
