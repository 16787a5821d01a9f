"""The experiments this machine has seen through a server, kept on disk per tracking URI, so
that a run can start while the server is unreachable (its creation is spooled like the rest of
what it logs, and delivered in order when the server is back).

One small JSON file per server, ``<cache dir>/experiments/<hash of the URI>.json``
(``MODELYARD_CACHE_DIR``), rewritten atomically (temporary file, rename) whenever an
experiment is seen. The
default experiment ``0`` always exists on a server, so a run can start in it offline even on a
machine that never saw it (its artifact location is then unknown until the server answers).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from pathlib import Path

import orjson

from modelyard.tracking.entities import Experiment, LifecycleStage

DEFAULT_EXPERIMENT_ID = "0"
_lock = threading.Lock()


class KnownExperiments:
    def __init__(self, root: Path, tracking_uri: str) -> None:
        digest = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
        self.path = root / "experiments" / f"{digest}.json"
        self._seen: dict[str, Experiment] | None = None

    def _load(self) -> dict[str, Experiment]:
        if self._seen is None:
            self._seen = {}
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                for raw in orjson.loads(self.path.read_bytes()):
                    exp = Experiment.from_dict(raw)
                    self._seen[exp.experiment_id] = exp
        return self._seen

    def remember(self, exp: Experiment) -> None:
        """Keep ``exp`` (a no-op when nothing about it changed); a write that fails (a full
        or read-only disk) only costs the offline start, so it is not an error."""
        seen = self._load()
        if seen.get(exp.experiment_id) == exp:
            return
        seen[exp.experiment_id] = exp
        data = orjson.dumps([e.to_dict() for e in seen.values()])
        with _lock, contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".experiments-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                Path(tmp).replace(self.path)
            finally:
                Path(tmp).unlink(missing_ok=True)

    def by_id(self, experiment_id: str) -> Experiment | None:
        found = self._load().get(experiment_id)
        if found is None and experiment_id == DEFAULT_EXPERIMENT_ID:
            return Experiment(
                DEFAULT_EXPERIMENT_ID, "Default", "", LifecycleStage.ACTIVE.value, 0, 0
            )
        return found

    def by_name(self, name: str) -> Experiment | None:
        return next((e for e in self._load().values() if e.name == name), None)
