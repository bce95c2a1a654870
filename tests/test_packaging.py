"""The distribution: one wheel with every package, all of them importable, and a light runtime SDK."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import privategaze

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from setup import PACKAGE_ROOTS  # noqa: E402

# Modules the light runtime must never pull in at import time.
HEAVY_MODULES = (
    "torch",
    "torchvision",
    "onnx",
    "onnxscript",
    "coremltools",
    "litert_torch",
    "ai_edge_litert",
    "ai_edge_quantizer",
    "tensorflow",
    "h5py",
    "matplotlib",
    "sklearn",
    "scipy",
    "fastapi",
    "uvicorn",
)


def _heavy_modules_loaded_by(code: str) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _source_packages() -> set[str]:
    """Every package in the source tree, named as it is installed."""
    found = set()
    for name, folder in PACKAGE_ROOTS.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    return found


def test_import_privategaze_stays_light():
    modules = "privategaze, privategaze.manifest, privategaze.geometry, privategaze.adapters, privategaze.obfuscate_cli"
    assert _heavy_modules_loaded_by(f"import {modules}") == []


def test_light_import_probe_detects_a_heavy_import():
    # The guard above must be able to fail: an SDK that imported torch would be reported.
    assert "torch" in _heavy_modules_loaded_by("import privategaze, torch")


def test_every_source_package_imports():
    for name in sorted(_source_packages()):
        importlib.import_module(name)


def test_every_module_imports():
    failures = {}
    for root in PACKAGE_ROOTS:
        package = importlib.import_module(root)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{root}."):
            try:
                importlib.import_module(info.name)
            except Exception as exc:  # report every broken module at once
                failures[info.name] = repr(exc)
    assert failures == {}


def test_version_matches_distribution_metadata():
    from importlib.metadata import version

    assert privategaze.__version__ == version("privategaze")


@pytest.mark.slow
def test_wheel_contains_every_package(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    wheels = list(tmp_path.glob("privategaze-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
    in_wheel = {str(Path(n).parent).replace("/", ".") for n in names if n.endswith("/__init__.py")}
    assert _source_packages() <= in_wheel
    assert in_wheel == _source_packages()
