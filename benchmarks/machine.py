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


SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "asimd",
              "asimddp", "sve")  # fmt: skip


def cpu_features() -> dict:
    """The SIMD extensions int8 and fp32 kernels dispatch on, and the memory size (Linux; empty elsewhere)."""
    features: dict = {}
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = set(line.partition(":")[2].split())
                features["simd"] = [flag for flag in SIMD_FLAGS if flag in flags]
                break
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        features["memory_gib"] = round(total_kib / 1024**2, 1)
    return features


def _cpu_model() -> str | None:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return None
