"""What every benchmark result records about the machine and the software it ran on."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "privategaze", "numpy", "pillow", "onnxruntime", "ai-edge-litert", "torch",
    "httpx", "fastapi", "starlette", "uvicorn", "h11", "anyio",
)  # fmt: skip


def machine_info() -> dict:
    """Platform, CPU model and count, Python and the versions of the packages that matter for timings."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model() or platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "packages": versions,
    }


def _cpu_model() -> str | None:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return None
