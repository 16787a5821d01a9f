"""Registry entities: registered models, versions, alias events, policies, approval requests.

Plain frozen dataclasses with ``to_dict``/``from_dict``: the same objects come out of the SQL
store and, rebuilt from JSON, out of the REST store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

PENDING, APPROVED, REJECTED, CANCELLED = "PENDING", "APPROVED", "REJECTED", "CANCELLED"
CARD_SECTIONS = ("intended_use", "limitations", "ethical_considerations", "notes")
EVERY_PROJECT = "*"  # what a global webhook is created with; its ``project`` reads None


def _from(cls: Any, data: dict[str, Any]) -> Any:
    return cls(**{f.name: data.get(f.name) for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str | None
    created_by: str | None
    created_time: int
    updated_time: int
    latest_version: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    card: dict[str, str] = field(default_factory=dict)
    deleted_time: int | None = None
    project: str = "default"

    @property
    def deleted(self) -> bool:
        return self.deleted_time is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegisteredModel:
        return _from(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    status: str
    description: str | None
    flavor: str | None
    model_digest: str | None
    signature: dict[str, Any] | None
    created_by: str | None
    created_time: int
    updated_time: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    card: dict[str, str] = field(default_factory=dict)
    deleted_time: int | None = None
    version_id: str = ""

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def deleted(self) -> bool:
        return self.deleted_time is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        return _from(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class NewModelVersion:
    """What registering a version needs; the store assigns the number."""

    name: str
    source: str
    run_id: str | None = None
    description: str | None = None
    flavor: str | None = None
    model_digest: str | None = None
    signature: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    project: str | None = None  # of a model this version creates; None: the caller's

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AliasEvent:
    """The alias pointed at ``version`` from ``time`` on (None: it was removed)."""

    alias: str
    version: int | None
    previous_version: int | None
    actor: str
    time: int
    request_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AliasEvent:
        return _from(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class AliasPolicy:
    """What moving ``alias`` requires; ``model`` is a model name or '*' for every model."""

    model: str
    alias: str
    require_approval: bool = True
    approver_role: str = "approver"
    min_approvals: int = 1
    allow_self_approval: bool = False
    required_gates: list[str] = field(default_factory=list)
    updated_by: str = ""
    updated_time: int = 0
    # a model's policy is in the model's project; a '*' policy in the one named (None: the
    # caller's only project, else default)
    project: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AliasPolicy:
        return _from(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Vote:
    actor: str
    decision: str  # APPROVE | REJECT
    comment: str | None
    time: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ApprovalRequest:
    request_id: str
    name: str
    version: int
    alias: str
    status: str
    requested_by: str
    requested_time: int
    comment: str | None
    decided_time: int | None
    votes: list[Vote] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalRequest:
        votes = [Vote(**v) for v in data.get("votes") or []]
        return _from(cls, {**data, "votes": votes})  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    url: str
    events: list[str]
    model: str | None
    active: bool
    created_by: str
    created_time: int
    project: str | None = None  # the project whose models it hears; None: every project
    secret: str | None = None  # shown once, when the webhook is created

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Webhook:
        return _from(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class WebhookDelivery:
    delivery_id: str
    webhook_id: str
    event: str
    status: str  # PENDING DELIVERED FAILED
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_time: int
    delivered_time: int | None
    next_attempt_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WebhookDelivery:
        return _from(cls, data)  # type: ignore[no-any-return]
