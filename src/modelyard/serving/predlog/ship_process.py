"""Shipping the prediction log from a process of its own, so that it never holds the server's
GIL.

Shipping parses JSON lines and builds Arrow tables: at thousands of requests a second, seconds
of CPU a minute. Run on a thread of the server, every request waited behind it (bench: p99
116 ms at 32 connections with a segment shipped every 3 s, 9 ms without shipping). So each
server process starts one child, ``python -m modelyard.serving.predlog.ship_process``, at a
lower CPU priority (nice 10), which ships every ``interval`` seconds and writes one JSON line
per round to its stdout: rows shipped, segments set aside, segments waiting, the last error.
The server turns those into its metrics and readiness warnings.

The child ends when its stdin closes: at shutdown (after one last round, once the server has
flushed its log) or when the server dies, even by SIGKILL. It ignores Ctrl-C, which the
terminal sends to the whole process group; the server's shutdown ends it in order. If it dies
on its own, the server starts another after ``interval`` seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from modelyard import logs
from modelyard.config import Settings
from modelyard.serving import metrics

log = logging.getLogger("modelyard.serving")


class ShippingProcess:
    def __init__(self, folder: Path, tracking_uri: str | None, *, interval_s: float = 5.0):
        self.folder = folder
        self.tracking_uri = tracking_uri
        self.interval_s = interval_s
        self.error: str | None = None  # the child's last failure to ship, or its death
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._stopping = threading.Event()
        self._seen = {"rows": 0, "dropped": 0}  # the running child's totals, already counted

    @property
    def pid(self) -> int | None:
        """The shipping process's id while it runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        if self._reader is None:
            self._reader = threading.Thread(target=self._run, name="prediction-ship", daemon=True)
            self._reader.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        level = logging.getLevelName(log.getEffectiveLevel())  # the server's, for its logs
        argv = [sys.executable, "-m", __name__, str(self.folder), str(self.interval_s), level]
        env = dict(os.environ)
        if self.tracking_uri is not None:  # not on the command line: `ps` shows that to all
            env["MODELYARD_TRACKING_URI"] = self.tracking_uri
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def _run(self) -> None:
        """Start the child, read its reports, start it again if it dies before shutdown."""
        while not self._stopping.is_set():
            self._proc = self._spawn()
            self._seen = {"rows": 0, "dropped": 0}
            assert self._proc.stdout is not None
            with self._proc.stdout:  # closed once the child ends: no pipe left to the GC
                for line in self._proc.stdout:
                    self._report(line)
            code = self._proc.wait()
            if self._stopping.is_set():
                return
            self.error = f"prediction log: the shipping process ended (exit code {code})"
            log.error("%s; starting another in %g s", self.error, self.interval_s)
            self._stopping.wait(self.interval_s)

    def _report(self, line: bytes) -> None:
        try:
            report = json.loads(line)
            counts = {key: int(report[key]) for key in ("rows", "dropped", "backlog")}
            error = report["error"]
        except (ValueError, TypeError, KeyError):  # not a report: read on, never stall
            log.warning("prediction log: the shipping process wrote %r", line[:200])
            return
        for key, counter in (
            ("rows", metrics.PREDLOG_SHIPPED),
            ("dropped", metrics.PREDLOG_DROPPED),
        ):
            counter.inc(max(0, counts[key] - self._seen[key]))
            self._seen[key] = counts[key]
        metrics.PREDLOG_BACKLOG.set(counts["backlog"])
        self.error = error if error is None or isinstance(error, str) else str(error)

    def stop(self, timeout: float = 60.0) -> None:
        """The last round (call it after the log is flushed), then the child ends."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("prediction log: shipping took over %g s at shutdown; stopped", timeout)
                proc.kill()
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None


def _report(out: IO[str], shipper: Any) -> None:
    line = {
        "rows": shipper.rows,
        "dropped": shipper.dropped,
        "backlog": shipper.backlog,
        "error": shipper.error,
    }
    out.write(json.dumps(line) + "\n")
    out.flush()


def main(argv: list[str]) -> None:
    from modelyard.serving.predlog.shipping import Shipper

    folder, interval, level = Path(argv[0]), float(argv[1]), argv[2]
    tracking_uri = Settings.from_env().tracking_uri
    logs.configure(level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(OSError):
        os.nice(10)

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns when the server closes the pipe or dies
        done.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    shipper = Shipper(folder, tracking_uri)
    while True:
        last = done.wait(interval)
        shipper.ship_all()
        with contextlib.suppress(BrokenPipeError):
            _report(sys.stdout, shipper)
        if last:
            return


if __name__ == "__main__":
    main(sys.argv[1:])
