"""What a schedule runs now: the fire times due since the last one that fired, filtered by a
catch-up policy for the times a server that was down (or a scheduler that fell behind) missed.
Pure arithmetic on ``cron.CronSchedule``; the caller claims and starts the runs.

A fire time is *due* when it lies in (``last_fired_ms``, ``now_ms``]. In steady operation one
time is due and every policy runs it (``"skip"`` only if the scheduler is not later than
``grace_ms``). The policies differ when more are due, or the one due is late:

- ``"skip"``: none of the missed times run. The most recent due time runs only if it is at
  most ``grace_ms`` old (default one minute): the tolerance for a scheduler tick that comes
  late, as Kubernetes' ``startingDeadlineSeconds``. A server down for longer runs nothing
  until the next fire time.
- ``"latest"`` (the default): one run, for the most recent due time, however late (Airflow's
  ``catchup=False``; a Kubernetes CronJob without a starting deadline).
- ``"all"``: every due time, oldest first, at most ``max_runs`` (default 100, the number
  past which Kubernetes gives up; at most 1,000): over the cap, the most recent ``max_runs``
  run and the older ones are skipped.

``skipped`` counts the due times not run, exactly up to ``COUNT_LIMIT`` (10,000; a longer
outage of a minutely schedule says 10,000). ``watermark_ms`` is what the caller records as
the schedule's last fired time, so no due time is considered twice; a schedule that never
fired passes the time it was created as ``last_fired_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Literal, get_args

from modelyard.errors import InvalidArgument
from modelyard.platform.checks import check_count
from modelyard.platform.cron import CronSchedule, check_ms

__all__ = ["DueRuns", "Policy", "due_runs"]

Policy = Literal["skip", "latest", "all"]
POLICIES: tuple[str, ...] = get_args(Policy)
DEFAULT_GRACE_MS = 60_000
DEFAULT_MAX_RUNS = 100
MOST_RUNS = 1_000
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class DueRuns:
    """``runs``: the fire times to run now, oldest first; ``skipped``: due times not run
    (counted up to ``COUNT_LIMIT``); ``watermark_ms``: the new last fired time (the most
    recent due time, or ``last_fired_ms`` when none is due); ``next_ms``: the first fire time
    after now (None past the year 9999)."""

    runs: tuple[int, ...]
    skipped: int
    watermark_ms: int
    next_ms: int | None


def _check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise InvalidArgument(
            f"catchup: unknown policy {str(policy)[:40]!r}; expected one of "
            + ", ".join(repr(p) for p in POLICIES),
            field="catchup",
        )
    return policy


def _check_grace(grace_ms: int) -> int:
    if isinstance(grace_ms, bool) or not isinstance(grace_ms, int) or grace_ms < 0:
        raise InvalidArgument(
            f"grace_ms must be a whole number of milliseconds, 0 or more, got {grace_ms!r}",
            field="grace_ms",
        )
    return grace_ms


def _recent(schedule: CronSchedule, latest: int, last_fired: int, most: int) -> list[int]:
    """Up to ``most`` due times ending at ``latest``, oldest first."""
    found = [latest]
    while len(found) < most:
        earlier = schedule.last_at_or_before(found[-1] - 1)
        if earlier is None or earlier <= last_fired:
            break
        found.append(earlier)
    return found[::-1]


def _count(schedule: CronSchedule, after_ms: int, until_ms: int) -> int:
    """Fire times in (after, until], counted up to ``COUNT_LIMIT``."""
    return sum(1 for _ in islice(schedule.fire_times(after_ms, until_ms), COUNT_LIMIT))


def due_runs(
    schedule: CronSchedule,
    last_fired_ms: int,
    now_ms: int,
    policy: Policy = "latest",
    *,
    grace_ms: int = DEFAULT_GRACE_MS,
    max_runs: int = DEFAULT_MAX_RUNS,
) -> DueRuns:
    """The fire times of ``schedule`` to run at ``now_ms``, given the last that fired."""
    last_fired = check_ms(last_fired_ms, "last_fired_ms")
    now = check_ms(now_ms, "now_ms")
    _check_policy(policy)
    grace = _check_grace(grace_ms)
    most = check_count(max_runs, "max_runs", MOST_RUNS)
    following = next(iter(schedule.fire_times(now)), None)
    latest = schedule.last_at_or_before(now)
    if latest is None or latest <= last_fired:
        return DueRuns((), 0, last_fired, following)
    if policy == "all":
        runs = tuple(_recent(schedule, latest, last_fired, most))
    elif policy == "latest" or now - latest <= grace:
        runs = (latest,)
    else:
        runs = ()
    older = _count(schedule, last_fired, runs[0] - 1) if runs else _count(schedule, last_fired, now)
    return DueRuns(runs, older, latest, following)
