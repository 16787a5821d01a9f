"""The data benchmark's peers, each in its own pinned venv under /tmp (created when missing).

    .venv/bin/python bench/data/peers.py [pandera|gx|evidently ...]   # create / check them

Runs in modelyard's venv. The peers cannot share a venv: Evidently 0.7.23 fails to import
under pandas 3, while pandera and Great Expectations run on pandas 3 (see BENCH-NOTES.md).
Every pin below was installed and run end to end from the registry reachable here. A venv is
reused only when every pinned distribution has exactly its pinned version; otherwise the pins
are (re)installed into it. ``$BENCH_<NAME>_VENV`` puts a venv somewhere else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import common  # noqa: E402

PANDAS_3 = "3.1.1"
PANDAS_2 = "2.3.3"  # the newest pandas 2, for Evidently
PYARROW = "26.0.1"
NUMPY = "2.4.6"


@dataclass(frozen=True)
class Peer:
    name: str  # short name: the worker is bench/data/<name>_worker.py
    tool: str  # the tool's own name, for tables
    pins: tuple[tuple[str, str], ...]  # (distribution, version); the first is the tool
    extras: str = ""  # pip extras of the tool, e.g. "[pandas]"

    @property
    def version(self) -> str:
        return self.pins[0][1]

    @property
    def venv(self) -> Path:
        return Path(os.environ.get(f"BENCH_{self.name.upper()}_VENV", f"/tmp/bench-{self.name}"))

    @property
    def worker(self) -> Path:
        return HERE / f"{self.name}_worker.py"

    def requirements(self) -> list[str]:
        (tool, version), *rest = self.pins
        return [f"{tool}{self.extras}=={version}", *(f"{d}=={v}" for d, v in rest)]


PANDERA = Peer(
    "pandera",
    "pandera",
    (("pandera", "0.35.0"), ("pandas", PANDAS_3), ("pyarrow", PYARROW), ("numpy", NUMPY)),
    extras="[pandas]",
)
GX = Peer(
    "gx",
    "Great Expectations",
    (
        ("great-expectations", "1.24.1"),
        ("pandas", PANDAS_3),
        ("pyarrow", PYARROW),
        ("numpy", NUMPY),
    ),
)
EVIDENTLY = Peer(
    "evidently",
    "Evidently",
    (("evidently", "0.7.23"), ("pandas", PANDAS_2), ("pyarrow", PYARROW), ("numpy", NUMPY)),
)
PEERS = {p.name: p for p in (PANDERA, GX, EVIDENTLY)}


def ensure(peer: Peer, log: Callable[[str], None] = print) -> Path:
    """The python of ``peer``'s venv, created and installed (minutes, once) when needed."""
    return common.ensure_pins(peer.venv, peer.pins, peer.requirements(), log)


def ensure_all(log: Callable[[str], None] = print) -> dict[str, Path]:
    return {name: ensure(peer, log) for name, peer in PEERS.items()}


if __name__ == "__main__":
    for name in sys.argv[1:] or list(PEERS):
        print(name, ensure(PEERS[name]))
