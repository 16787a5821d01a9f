"""Settings read from ``MODELYARD_*`` environment variables, resolved once per call site.

Only this module reads the environment; every other layer receives a ``Settings`` value.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.errors import InvalidArgument

DEFAULT_DATA_DIR = "modelyard-data"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be an integer, got {raw!r}", field=name) from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a number, got {raw!r}", field=name) from None


def _positive(name: str, default: float) -> float:
    value = _env_float(name, default)
    if not value > 0:
        raise InvalidArgument(f"{name} must be a number of seconds above 0", field=name)
    return value


def identity_env() -> tuple[str | None, str | None]:
    """The raw MODELYARD_USER and MODELYARD_ROLES: what the configured actor is made of (its
    cache is kept while these stay the same)."""
    return os.environ.get("MODELYARD_USER"), os.environ.get("MODELYARD_ROLES")


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Settings:
    tracking_uri: str | None = None
    artifacts_uri: str | None = None
    user: str = field(default_factory=default_user)
    spool_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "modelyard" / "spool")
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "modelyard" / "data")
    validation_timeout: float = 600.0
    http_timeout: float = 30.0
    http_retry_seconds: float = 10.0
    writer_queue_size: int = 100_000
    max_request_bytes: int = 32 * 1024 * 1024
    max_artifact_bytes: int = 5 * 1024 * 1024 * 1024
    s3_endpoint_url: str | None = None
    artifact_fsync: bool = False
    roles: str | None = None
    allow_private_webhooks: bool = False
    monitor_tick_s: float = 10.0  # how often a server looks for due monitors; 0: never
    # pipelines on a server: how often it fires schedules and triggers and claims queued runs
    # (0: never), how many runs it runs at once, how often a running pipeline says it lives,
    # and how long a silent one is given before another server fails (and resumes) it
    pipeline_tick_s: float = 2.0
    pipeline_slots: int = 4
    pipeline_heartbeat_s: float = 10.0
    pipeline_stale_s: float = 60.0
    body_timeout_s: float = 30.0  # a request body must arrive within this (servers: 408)
    smtp_host: str = "127.0.0.1"  # where alert mail goes unless a monitor names a host
    smtp_port: int = 25
    token: str | None = None  # an API token: sent as a Bearer token to a server
    project: str | None = None  # the project new objects go in (a server with --auth)
    auth: bool = False  # a server authenticates every request and checks its permissions
    public_url: str | None = None  # how browsers reach the server (its cookie and CSRF origin)
    argon2_memory_kib: int = 65536  # RFC 9106 low-memory profile
    argon2_time: int = 3
    argon2_parallelism: int = 4
    session_idle_s: float = 7200.0  # a browser session ends after this long unused
    session_max_s: float = 43200.0  # and this long after login, used or not
    token_cache_s: float = 5.0  # how long a server trusts a token it checked (revocation lag)
    # single sign-on with an OpenID provider (a server with --auth): its issuer URL, this
    # server's client at it, the audience its bearer JWTs carry (default: the client id),
    # the claim listing a user's groups, and whether a first login makes the user
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_audience: str | None = None
    oidc_groups_claim: str = "groups"
    oidc_auto_create: bool = True
    # the longest life of an API token a single sign-on login makes for its own user (it
    # carries the provider's groups as they were at that login)
    sso_token_max_s: float = 86400.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        spool = env.get("MODELYARD_SPOOL_DIR")
        cache = env.get("MODELYARD_CACHE_DIR")
        return cls(
            tracking_uri=env.get("MODELYARD_TRACKING_URI") or None,
            artifacts_uri=env.get("MODELYARD_ARTIFACTS_URI") or None,
            user=env.get("MODELYARD_USER") or default_user(),
            spool_dir=Path(spool) if spool else Path.home() / ".cache" / "modelyard" / "spool",
            cache_dir=Path(cache) if cache else Path.home() / ".cache" / "modelyard" / "data",
            validation_timeout=_env_float("MODELYARD_VALIDATION_TIMEOUT", 600.0),
            http_timeout=_env_float("MODELYARD_HTTP_TIMEOUT", 30.0),
            http_retry_seconds=_env_float("MODELYARD_HTTP_RETRY_SECONDS", 10.0),
            writer_queue_size=_env_int("MODELYARD_WRITER_QUEUE_SIZE", 100_000),
            max_request_bytes=_env_int("MODELYARD_MAX_REQUEST_BYTES", 32 * 1024 * 1024),
            max_artifact_bytes=_env_int("MODELYARD_MAX_ARTIFACT_BYTES", 5 * 1024 * 1024 * 1024),
            s3_endpoint_url=env.get("MODELYARD_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL"),
            artifact_fsync=env.get("MODELYARD_ARTIFACT_FSYNC", "").lower() in ("1", "true", "yes"),
            roles=env.get("MODELYARD_ROLES") or None,
            allow_private_webhooks=env.get("MODELYARD_ALLOW_PRIVATE_WEBHOOKS", "").lower()
            in ("1", "true", "yes"),
            monitor_tick_s=_env_float("MODELYARD_MONITOR_TICK_SECONDS", 10.0),
            pipeline_tick_s=_env_float("MODELYARD_PIPELINE_TICK_SECONDS", 2.0),
            pipeline_slots=_env_int("MODELYARD_PIPELINE_SLOTS", 4),
            pipeline_heartbeat_s=_positive("MODELYARD_PIPELINE_HEARTBEAT_SECONDS", 10.0),
            pipeline_stale_s=_positive("MODELYARD_PIPELINE_STALE_SECONDS", 60.0),
            body_timeout_s=_positive("MODELYARD_BODY_TIMEOUT_SECONDS", 30.0),
            smtp_host=env.get("MODELYARD_SMTP_HOST") or "127.0.0.1",
            smtp_port=_env_int("MODELYARD_SMTP_PORT", 25),
            token=env.get("MODELYARD_TOKEN") or None,
            project=env.get("MODELYARD_PROJECT") or None,
            auth=_env_flag("MODELYARD_AUTH"),
            public_url=env.get("MODELYARD_PUBLIC_URL") or None,
            argon2_memory_kib=_env_int("MODELYARD_ARGON2_MEMORY_KIB", 65536),
            argon2_time=_env_int("MODELYARD_ARGON2_TIME", 3),
            argon2_parallelism=_env_int("MODELYARD_ARGON2_PARALLELISM", 4),
            session_idle_s=_positive("MODELYARD_SESSION_IDLE_SECONDS", 7200.0),
            session_max_s=_positive("MODELYARD_SESSION_MAX_SECONDS", 43200.0),
            token_cache_s=_env_float("MODELYARD_TOKEN_CACHE_SECONDS", 5.0),
            oidc_issuer=env.get("MODELYARD_OIDC_ISSUER") or None,
            oidc_client_id=env.get("MODELYARD_OIDC_CLIENT_ID") or None,
            oidc_client_secret=env.get("MODELYARD_OIDC_CLIENT_SECRET") or None,
            oidc_audience=env.get("MODELYARD_OIDC_AUDIENCE") or None,
            oidc_groups_claim=env.get("MODELYARD_OIDC_GROUPS_CLAIM") or "groups",
            oidc_auto_create=env.get("MODELYARD_OIDC_AUTO_CREATE", "1").strip().lower()
            not in ("0", "false", "no", "off"),
            sso_token_max_s=_positive("MODELYARD_SSO_TOKEN_MAX_SECONDS", 86400.0),
        )


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def config_dir() -> Path:
    """Where a user's modelyard configuration lives: ``MODELYARD_CONFIG_DIR``, else
    ``$XDG_CONFIG_HOME/modelyard``, else ``~/.config/modelyard``."""
    given = os.environ.get("MODELYARD_CONFIG_DIR")
    if given:
        return Path(given)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "modelyard"


def credentials_file() -> Path:
    """The tokens ``modelyard login`` saved, one per server URL (mode 0600)."""
    return config_dir() / "credentials.json"


def saved_token(url: str) -> str | None:
    """The token ``modelyard login`` saved for the server at ``url``, if any. A file that is
    unreadable, not JSON or readable by others is ignored (it is never trusted half-way)."""
    path = credentials_file()
    try:
        if path.stat().st_mode & 0o077:
            logging.getLogger(__name__).warning(
                "ignoring the saved logins in %s: others may read it (chmod 600 it, or log in "
                "again)",
                path,
            )
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = data.get(url.rstrip("/")) if isinstance(data, dict) else None
    token = found.get("token") if isinstance(found, dict) else None
    return token if isinstance(token, str) else None
