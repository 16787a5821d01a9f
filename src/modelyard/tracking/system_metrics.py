"""Background sampling of CPU, memory, disk, network (and GPU when NVML finds one).

A daemon thread logs ``system/*`` metrics to the run every ``interval`` seconds until stopped;
sampling failures are logged once and never interrupt the user's run.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psutil

from modelyard.tracking.entities import Metric

log = logging.getLogger("modelyard.tracking")
_MB = 1024 * 1024


def _gpu_handles() -> tuple[Any, list[Any]]:
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        return pynvml, [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    except Exception:  # noqa: BLE001 - no NVML, no GPU: sample the rest
        return None, []


def sample(net_start: Any, nvml: Any = None, gpus: list[Any] | None = None) -> dict[str, float]:
    mem = psutil.virtual_memory()
    disk = psutil.disk_usage("/")
    net = psutil.net_io_counters()
    values = {
        "system/cpu_utilization_percentage": psutil.cpu_percent(interval=None),
        "system/system_memory_usage_megabytes": (mem.total - mem.available) / _MB,
        "system/system_memory_usage_percentage": mem.percent,
        "system/disk_usage_percentage": disk.percent,
        "system/disk_usage_megabytes": disk.used / _MB,
        "system/network_receive_megabytes": (net.bytes_recv - net_start.bytes_recv) / _MB,
        "system/network_transmit_megabytes": (net.bytes_sent - net_start.bytes_sent) / _MB,
    }
    for i, handle in enumerate(gpus or []):
        util = nvml.nvmlDeviceGetUtilizationRates(handle)
        gmem = nvml.nvmlDeviceGetMemoryInfo(handle)
        values[f"system/gpu_{i}_utilization_percentage"] = float(util.gpu)
        values[f"system/gpu_{i}_memory_usage_megabytes"] = gmem.used / _MB
    return values


class SystemMetricsMonitor:
    def __init__(self, log_batch: Any, run_id: str, interval: float = 10.0) -> None:
        self._log_batch = log_batch
        self.run_id = run_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="modelyard-sysmetrics", daemon=True)

    def start(self) -> None:
        psutil.cpu_percent(interval=None)  # prime the CPU counter
        self._thread.start()

    def _loop(self) -> None:
        net_start = psutil.net_io_counters()
        nvml, gpus = _gpu_handles()
        step = 0
        while not self._stop.wait(self.interval):
            try:
                ts = int(time.time() * 1000)
                values = sample(net_start, nvml, gpus)
                self._log_batch(self.run_id, [Metric(k, v, ts, step) for k, v in values.items()])
                step += 1
            except Exception:
                log.exception("system metrics sampling failed; stopping it")
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 1)
