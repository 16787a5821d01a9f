"""Helpers shared by the benchmarks: peer venvs, worker subprocesses, servers on loopback.

Runs in modelyard's venv (psutil comes with modelyard); the peers run in their own venvs
and are only ever started as subprocesses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

RESULT_PREFIX = "RESULT "
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "PYTHONUNBUFFERED": "1",
}


class BenchError(RuntimeError):
    pass


# --- peer virtualenvs --------------------------------------------------------------------
def venv_has(python: Path, module: str, version: str) -> bool:
    if not python.exists():
        return False
    probe = f"import {module}, sys; sys.exit(0 if {module}.__version__ == {version!r} else 1)"
    done = subprocess.run(
        [str(python), "-c", probe], env=clean_env(), capture_output=True, check=False
    )
    return done.returncode == 0


def ensure_venv(venv: Path, requirement: str, module: str, version: str, log: Any) -> Path:
    """A venv at ``venv`` with ``requirement`` installed; created (minutes) when missing."""
    python = venv / "bin" / "python"
    if venv_has(python, module, version):
        return python
    log(f"creating {venv} and installing {requirement} (a few minutes, once)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", requirement],
        env=clean_env(),
        check=True,
    )
    if not venv_has(python, module, version):
        raise BenchError(f"{requirement} did not install into {venv}")
    return python


def pins_installed(python: Path, pins: Sequence[tuple[str, str]]) -> bool:
    """Whether ``python``'s environment holds exactly these distribution versions."""
    if not python.exists():
        return False
    probe = (
        "import sys\nfrom importlib.metadata import version, PackageNotFoundError\n"
        "def ok(d, v):\n"
        "    try:\n        return version(d) == v\n"
        "    except PackageNotFoundError:\n        return False\n"
        f"sys.exit(0 if all(ok(d, v) for d, v in {list(pins)!r}) else 1)\n"
    )
    done = subprocess.run(
        [str(python), "-c", probe], env=clean_env(), capture_output=True, check=False
    )
    return done.returncode == 0


def ensure_pins(
    venv: Path, pins: Sequence[tuple[str, str]], requirements: Sequence[str], log: Any
) -> Path:
    """The python of a venv at ``venv`` holding exactly ``pins``: reused when it does,
    otherwise created and ``requirements`` installed (minutes, once)."""
    python = venv / "bin" / "python"
    if pins_installed(python, pins):
        return python
    log(f"creating {venv} and installing {' '.join(requirements)} (a few minutes, once)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        env=clean_env(),
        check=True,
    )
    if not pins_installed(python, pins):
        raise BenchError(f"{' '.join(requirements)} did not install into {venv}")
    return python


def clean_env(
    extra: Mapping[str, str] | None = None, venv_bin: Path | None = None
) -> dict[str, str]:
    """The environment for a subprocess in another venv: no trace of this one."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith("MODELYARD_")
    }
    env.update(QUIET_ENV)
    if venv_bin is not None:
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


# --- workers --------------------------------------------------------------------------------
def run_worker(
    python: Path,
    script: Path,
    spec: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
) -> dict[str, Any]:
    """Run ``python script SPEC_JSON``; return the JSON of its ``RESULT`` line."""
    try:
        done = subprocess.run(
            [str(python), str(script), json.dumps(spec)],
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{script.name} {spec.get('workload')} ran past {timeout:.0f} s") from exc
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    tail = (done.stderr or done.stdout)[-2000:]
    raise BenchError(f"{script.name} {spec.get('workload')} exited {done.returncode}:\n{tail}")


@dataclass
class Measured:
    tool: str
    seconds: float  # the worker's own ``total_s``
    peak_mib: float  # the worker process's peak RSS (from wait4)
    result: dict[str, Any]


def measured_worker(
    python: Path, script: Path, args: Sequence[str], *, cwd: Path, timeout: float
) -> Measured:
    """Run ``python script ARGS...`` in a clean environment; its ``RESULT`` line, with its
    wall time (``total_s``, measured by the worker) and peak RSS (wait4, this process only)."""
    proc = subprocess.Popen(
        [str(python), str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
        cwd=str(cwd),
        text=True,
    )
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise BenchError(f"{script.name} timed out")
        time.sleep(0.05)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    lines = [ln for ln in out.splitlines() if ln.startswith(RESULT_PREFIX)]
    if code != 0 or not lines:
        raise BenchError(f"{script.name} {list(args)} failed ({code}):\n{err[-3000:]}")
    result = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return Measured(
        str(result.get("tool")), float(result["total_s"]), usage.ru_maxrss / 1024, result
    )


# --- servers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def wait_idle(pids: Sequence[int], *, busy: float = 0.05, timeout: float = 120.0) -> float:
    """Wait until the process trees use under ``busy`` CPU-seconds per second for two
    consecutive half-second windows; return the seconds waited."""
    start = time.monotonic()
    quiet = 0
    while time.monotonic() - start < timeout:
        before = sum(tree_cpu_seconds(p) for p in pids)
        time.sleep(0.5)
        used = sum(tree_cpu_seconds(p) for p in pids) - before
        quiet = quiet + 1 if used < busy * 0.5 else 0
        if quiet >= 2:
            break
    return time.monotonic() - start


@dataclass
class Server:
    """A server process started in its own session, so its workers stop with it."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    health_url: str
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    ready_s: float = 0.0
    idle_s: float = 0.0

    def start(self, timeout: float = 240.0) -> None:
        t0 = time.monotonic()
        with open(self.log_path, "wb") as out:  # the server keeps its own copy of the handle
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while not http_ok(self.health_url):
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() - t0 > timeout:
                self.stop()
                raise BenchError(f"{self.name} not ready after {timeout:.0f} s")
            time.sleep(0.25)
        self.ready_s = time.monotonic() - t0
        self.idle_s = wait_idle([self.proc.pid])

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError(f"{self.name} is not running")
        return self.proc.pid

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        # the server leads its own process group (start_new_session): stop that group only,
        # workers included, even when the leader is already gone
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        self.proc = None


def machine_busy(interval: float = 0.5) -> float:
    """Machine-wide CPU use in percent over ``interval`` (to flag disturbed measurements)."""
    return float(psutil.cpu_percent(interval=interval))


def wait_machine_idle(limit: float = 20.0) -> None:
    """Start a measurement only once the machine is (nearly) idle, up to ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and machine_busy() > 25.0:
        time.sleep(1)


def report(
    console: Any, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool
) -> None:
    """The results as a rich table, and as Markdown (for bench/README.md) when asked."""
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if markdown:
        print("| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
        for row in rows:
            print("| " + " | ".join(row) + " |")


def snapshot_modelyard(dest: Path) -> dict[str, str]:
    """Copy modelyard's source (``src/modelyard`` of this checkout) to ``dest/modelyard`` so
    that edits made while a benchmark runs cannot reach it halfway: every modelyard worker and
    server imports this copy (``PYTHONPATH=dest``). Its path, a sha256 and its newest file."""
    import datetime as dt
    import hashlib
    import shutil

    src = Path(__file__).resolve().parent.parent / "src" / "modelyard"
    shutil.copytree(src, dest / "modelyard", ignore=shutil.ignore_patterns("__pycache__"))
    digest = hashlib.sha256()
    newest = 0.0
    for path in sorted((dest / "modelyard").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(dest)).encode())
            digest.update(path.read_bytes())
            newest = max(newest, path.stat().st_mtime)
    when = dt.datetime.fromtimestamp(newest, dt.timezone.utc).isoformat(timespec="seconds")
    return {"path": str(dest), "sha256": digest.hexdigest()[:16], "newest_file_utc": when}


def save_results(name: str, doc: Mapping[str, Any]) -> Path:
    """Write a run's figures to ``bench/results/<name>-<local time>.json``, with the machine's
    core count and Python version added; the path written."""
    import datetime as dt
    import platform

    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"{name}-{stamp}.json"
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    path.write_text(json.dumps({**doc, "machine": machine}, indent=1, default=str))
    return path
