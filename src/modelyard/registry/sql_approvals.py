"""Approval requests and votes, in SQL.

When the last approval a policy requires arrives, the request becomes APPROVED and the alias
moves in that approval's transaction (``sql_aliases.move_alias``), provided the version's
required gates have passed. A rejection by any approver ends the request.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from modelyard.identity import ADMIN_ROLE, Actor, current_actor
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import holds_role, require_in, restricted, where_visible
from modelyard.platform.search.paging import encode_page_token, list_fingerprint, page_offset
from modelyard.registry import outbox
from modelyard.registry.entities import (
    APPROVED,
    CANCELLED,
    PENDING,
    REJECTED,
    AliasPolicy,
    ApprovalRequest,
    Vote,
)
from modelyard.registry.names import check_alias, check_model_name, check_text, check_version
from modelyard.registry.sql_aliases import move_alias
from modelyard.registry.sql_policies import check_gates, policy_for
from modelyard.registry.sql_rows import model_row, version_row
from modelyard.registry.store import REQUESTS_PAGE_DEFAULT, REQUESTS_PAGE_MAX, ApprovalStore
from modelyard.registry.tables import (
    approval_requests,
    approval_votes,
    model_versions,
    registered_models,
)
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database


def _request_row(conn: Connection, request_id: str, *, lock: bool = False) -> Any:
    if not isinstance(request_id, str) or not request_id or len(request_id) > 32:
        raise InvalidArgument("request_id must be a request id", field="request_id")
    query = sa.select(approval_requests).where(approval_requests.c.request_id == request_id)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    missing = NotFound(f"approval request {request_id} does not exist", field="request_id")
    if row is None:
        raise missing
    if restricted():  # a request is seen by who may read its model's project
        project = conn.execute(
            sa.select(registered_models.c.project).where(
                registered_models.c.model_id == row["model_id"]
            )
        ).scalar()
        require_in("approval.read", project, missing)
    return row


def _project_of(conn: Connection, req: Any) -> str:
    return str(
        conn.execute(
            sa.select(registered_models.c.project).where(
                registered_models.c.model_id == req["model_id"]
            )
        ).scalar_one()
    )


def _build_requests(conn: Connection, rows: list[Any]) -> list[ApprovalRequest]:
    out = []
    for r in rows:
        model = conn.execute(
            sa.select(registered_models.c.name).where(registered_models.c.model_id == r["model_id"])
        ).scalar_one()
        version = conn.execute(
            sa.select(model_versions.c.version).where(
                model_versions.c.version_id == r["version_id"]
            )
        ).scalar_one()
        votes = [
            Vote(v["actor"], v["decision"], v["comment"], int(v["time"]))
            for v in conn.execute(
                sa.select(approval_votes)
                .where(approval_votes.c.request_id == r["request_id"])
                .order_by(approval_votes.c.time)
            ).mappings()
        ]
        out.append(
            ApprovalRequest(
                request_id=r["request_id"],
                name=model,
                version=int(version),
                alias=r["alias"],
                status=r["status"],
                requested_by=r["requested_by"],
                requested_time=int(r["requested_time"]),
                comment=r["comment"],
                decided_time=r["decided_time"],
                votes=votes,
            )
        )
    return out


def _pending(conn: Connection, request_id: str) -> tuple[Any, Any]:
    """The pending request's row and its model's, both locked; Conflict when decided."""
    req = _request_row(conn, request_id, lock=True)
    model = (
        conn.execute(
            sa.select(registered_models)
            .where(registered_models.c.model_id == req["model_id"])
            .with_for_update()
        )
        .mappings()
        .one()
    )
    if req["status"] != PENDING:
        raise Conflict(
            f"request {request_id} is {req['status']}, no longer pending", field="request_id"
        )
    return req, model


def person(actor: Actor) -> str:
    """The human an approval counts: a service account's owner, a user themself."""
    return actor.person or actor.name


def _check_voter(conn: Connection, req: Any, model: Any, actor: Actor) -> AliasPolicy:
    """The alias's policy, once ``actor`` may vote on the request (and its person has not).

    Approvals count people: a service account does not vote, a person's second identity (a
    token of a service account they own) is still that person, and one person votes once."""
    # an ungoverned alias: the request is a voluntary review; self-review is allowed
    policy = policy_for(conn, model, req["alias"]) or AliasPolicy(
        model["name"], req["alias"], allow_self_approval=True
    )
    if actor.kind == "service":
        raise PermissionDenied(
            f"{actor.name!r} is a service account; approvals are decisions of people "
            "(vote with your own login or token)",
            field="user",
        )
    if not holds_role(actor, policy.approver_role, model["project"]):
        raise PermissionDenied(
            f"deciding on {model['name']}@{req['alias']} needs the "
            f"{policy.approver_role!r} role; {actor.name!r} does not hold it",
            field="user",
        )
    who = person(actor)
    requester = req["requested_by_person"] or req["requested_by"]
    if who == requester and not policy.allow_self_approval:
        through = {actor.name, req["requested_by"]} - {who}
        mine = f" (through {', '.join(map(repr, sorted(through)))})" if through else ""
        raise PermissionDenied(
            f"{who!r} requested this change{mine} and the policy of alias "
            f"{req['alias']!r} forbids self-approval",
            field="user",
        )
    request_id = req["request_id"]
    voted = conn.execute(
        sa.select(approval_votes.c.actor).where(
            approval_votes.c.request_id == request_id,
            sa.or_(approval_votes.c.person == who, approval_votes.c.actor == actor.name),
        )
    ).first()
    if voted is not None:
        raise Conflict(f"{who!r} already decided on request {request_id}", field="user")
    return policy


def _live_version(conn: Connection, req: Any, model: Any) -> Any:
    """The requested version's row; Conflict when it or its model was deleted."""
    version = (
        conn.execute(
            sa.select(model_versions).where(model_versions.c.version_id == req["version_id"])
        )
        .mappings()
        .one()
    )
    if version["deleted_time"] is not None:
        raise Conflict(f"version {version['version']} was deleted", field="request_id")
    if model["deleted_time"] is not None:
        raise Conflict(f"model {model['name']!r} was deleted", field="request_id")
    return version


def _vote(
    conn: Connection,
    request_id: str,
    actor: Actor,
    decision: str,
    comment: str | None,
    policy: AliasPolicy,
    t: int,
) -> tuple[str, int]:
    """Record the vote; the request's new status (decided in this vote) and its approvals."""
    conn.execute(
        approval_votes.insert().values(
            request_id=request_id,
            actor=actor.name,
            person=person(actor),
            decision=decision,
            comment=comment,
            time=t,
        )
    )
    approvals = conn.execute(
        sa.select(sa.func.count()).where(
            approval_votes.c.request_id == request_id, approval_votes.c.decision == "APPROVE"
        )
    ).scalar_one()
    status = PENDING
    if decision == "REJECT":
        status = REJECTED
    elif approvals >= policy.min_approvals:
        status = APPROVED
    if status != PENDING:
        conn.execute(
            approval_requests.update()
            .where(approval_requests.c.request_id == request_id)
            .values(status=status, decided_time=t)
        )
    return status, int(approvals)


def _decide(
    conn: Connection, request_id: str, decision: str, comment: str | None, actor: Actor
) -> None:
    """One vote, in one transaction: checked, recorded, audited, announced and, when it
    completes the approvals, the alias moved."""
    req, model = _pending(conn, request_id)
    policy = _check_voter(conn, req, model, actor)
    version = _live_version(conn, req, model)
    t = now_ms()
    if decision == "APPROVE":
        check_gates(conn, model["name"], version, policy)
    status, approvals = _vote(conn, request_id, actor, decision, comment, policy, t)
    event = AuditEvent(
        f"approval.{decision.lower()}",
        "approval",
        request_id,
        after={"comment": comment, "status": status, "approvals": approvals},
    )
    audit.record(conn, [replace(event, project=model["project"])], time_ms=t)
    data = {
        "request_id": request_id,
        "version": int(version["version"]),
        "alias": req["alias"],
        "by": actor.name,
    }
    if status == APPROVED:
        outbox.enqueue(
            conn, "approval.approved", model["name"], data, project=model["project"], time_ms=t
        )
        move_alias(conn, model, req["alias"], version, actor, request_id, t)
    elif status == REJECTED:
        outbox.enqueue(
            conn, "approval.rejected", model["name"], data, project=model["project"], time_ms=t
        )


class SqlApprovals(ApprovalStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def request(
        self, name: str, version: int, alias: str, comment: str | None = None
    ) -> ApprovalRequest:
        name = check_model_name(name)
        check_version(version)
        alias = check_alias(alias)
        comment = check_text(comment, "comment", 5000)
        actor = current_actor()
        request_id = uuid.uuid4().hex

        def write(conn: Connection) -> None:
            model = model_row(conn, name, action="approval.request", lock=True)
            row = version_row(conn, model, version)
            t = now_ms()
            conn.execute(
                approval_requests.insert().values(
                    request_id=request_id,
                    model_id=model["model_id"],
                    version_id=row["version_id"],
                    alias=alias,
                    status=PENDING,
                    requested_by=actor.name,
                    requested_by_person=person(actor),
                    requested_time=t,
                    comment=comment,
                )
            )
            after = {"version": version, "alias": alias, "comment": comment}
            event = AuditEvent("approval.request", "approval", request_id, after=after)
            audit.record(conn, [replace(event, project=model["project"])], time_ms=t)
            data = {"request_id": request_id, "version": version, "alias": alias}
            outbox.enqueue(
                conn, "approval.requested", name, data, project=model["project"], time_ms=t
            )

        self.db.run_write(write)
        return self.get(request_id)

    def decide(self, request_id: str, decision: str, comment: str | None = None) -> ApprovalRequest:
        if decision not in ("APPROVE", "REJECT"):
            raise InvalidArgument("decision must be APPROVE or REJECT", field="decision")
        comment = check_text(comment, "comment", 5000)
        actor = current_actor()
        self.db.run_write(_decide, request_id, decision, comment, actor)
        return self.get(request_id)

    def cancel(self, request_id: str) -> ApprovalRequest:
        actor = current_actor()

        def write(conn: Connection) -> None:
            req = _request_row(conn, request_id, lock=True)
            if req["status"] != PENDING:
                raise Conflict(f"request {request_id} is {req['status']}", field="request_id")
            requester = req["requested_by_person"] or req["requested_by"]
            mine = person(actor) == requester or req["requested_by"] == actor.name
            if not mine and not holds_role(actor, ADMIN_ROLE, _project_of(conn, req)):
                raise PermissionDenied(
                    f"only the requester ({req['requested_by']!r}) or an admin can cancel "
                    "this request",
                    field="user",
                )
            t = now_ms()
            conn.execute(
                approval_requests.update()
                .where(approval_requests.c.request_id == request_id)
                .values(status=CANCELLED, decided_time=t)
            )
            event = AuditEvent(
                "approval.cancel", "approval", request_id, project=_project_of(conn, req)
            )
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)
        return self.get(request_id)

    def get(self, request_id: str) -> ApprovalRequest:
        with self.db.read() as conn:
            return _build_requests(conn, [_request_row(conn, request_id)])[0]

    def list_page(
        self,
        name: str | None = None,
        status: str | None = None,
        *,
        limit: int = REQUESTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[ApprovalRequest], str | None]:
        check_count(limit, "limit", REQUESTS_PAGE_MAX)
        query = where_visible(
            sa.select(approval_requests).join(
                registered_models, registered_models.c.model_id == approval_requests.c.model_id
            ),
            registered_models.c.project,
        )
        if status is not None:
            if status not in (PENDING, APPROVED, REJECTED, CANCELLED):
                raise InvalidArgument(
                    "status must be PENDING, APPROVED, REJECTED or CANCELLED", field="status"
                )
            query = query.where(approval_requests.c.status == status)
        with self.db.read() as conn:
            model_id = None
            if name is not None:
                model_id = model_row(
                    conn, check_model_name(name), action="approval.read", include_deleted=True
                )["model_id"]
                query = query.where(approval_requests.c.model_id == model_id)
            fingerprint = list_fingerprint("approval_requests", model=model_id, status=status)
            offset = page_offset(page_token, fingerprint, "name and status")
            query = query.order_by(
                approval_requests.c.requested_time, approval_requests.c.request_id
            )
            rows = list(conn.execute(query.limit(limit + 1).offset(offset)).mappings().all())
            found = _build_requests(conn, rows[:limit])
        token = encode_page_token(offset + limit, fingerprint) if len(rows) > limit else None
        return found, token
