"""`pgz-bench android`: LiteRT's ``benchmark_model`` on a connected phone or tablet, written in the benchmark schema.

For one ``.tflite`` artefact and each configuration (default: XNNPACK on 1 thread, on 2 and on all the device's cores,
then the GPU delegate):

1. find adb and the device (``adb devices``; ``--serial`` picks one of several) and read its facts (``getprop``,
   ``nproc``, which also gives the default configurations their "all cores" count);
2. push the user's ``benchmark_model`` binary and the artefact to ``/data/local/tmp/privategaze/``;
3. run ``benchmark_model --graph=... --num_threads=N --use_xnnpack=... --num_runs --warmup_runs --min_secs
   --report_peak_memory_footprint=true`` and parse what it prints
   (`privategaze.benchmarks.benchmark_model.parse_benchmark_model`, re-exported here);
4. remove the pushed files, whatever happened.

A configuration that fails (no GPU delegate on the device, a delegate that runs none of the graph, a crash, a
timeout, a record that breaks the schema) goes to the result's ``skipped`` with its reason; the others become
``measured`` records. Every subprocess call has a timeout; nothing goes through a local shell. The device's serial
number is not written to the result. What the artefact's sidecar manifest must contain is in
`privategaze.benchmarks.benchmark_model`. The steps to get adb and the binary are in android_demo/BENCHMARK.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from privategaze.benchmarks.benchmark_model import (
    ACCELERATORS,
    Configuration,
    build_record,
    default_configurations,
    describe_artefact,
    parse_benchmark_model,
)
from privategaze.benchmarks.schema import new_result, slug, validate_record, validate_result, write_result
from privategaze.errors import BenchmarkError
from privategaze.manifest import artefact_sha256

__all__ = ["AndroidBenchConfig", "Configuration", "parse_benchmark_model", "register", "run_on_device"]

log = logging.getLogger(__name__)

DEVICE_CLASSES = ("phone", "tablet")
REMOTE_DIR = "/data/local/tmp/privategaze"
ADB_TIMEOUT_S = 60.0
PUSH_TIMEOUT_S = 300.0
PROPS = (
    "ro.product.manufacturer",
    "ro.product.model",
    "ro.build.version.release",
    "ro.build.version.sdk",
    "ro.soc.manufacturer",
    "ro.soc.model",
    "ro.product.cpu.abi",
    "ro.hardware",
    "ro.product.device",
)


@dataclass(frozen=True)
class AndroidBenchConfig:
    """What `run_on_device` runs: one artefact, one benchmark_model binary, one device, several configurations.

    ``configurations=None`` runs `default_configurations` for the device's CPU count, read once it is connected.
    """

    artefact: Path
    benchmark_model: Path
    device_class: str = "phone"
    adb: str = "adb"
    serial: str | None = None
    configurations: tuple[Configuration, ...] | None = None
    num_runs: int = 100
    warmup_runs: int = 10
    min_secs: float = 1.0
    timeout_s: float = 600.0
    remote_dir: str = REMOTE_DIR

    def __post_init__(self) -> None:
        object.__setattr__(self, "artefact", Path(self.artefact))
        object.__setattr__(self, "benchmark_model", Path(self.benchmark_model))
        if self.configurations is not None:
            object.__setattr__(self, "configurations", tuple(self.configurations))
        if self.device_class not in DEVICE_CLASSES:
            raise BenchmarkError(f"device_class must be one of {list(DEVICE_CLASSES)}, got {self.device_class!r}")
        if self.artefact.suffix != ".tflite":
            raise BenchmarkError(f"benchmark_model runs .tflite artefacts, got {self.artefact.name}")
        if self.configurations is not None and (
            not self.configurations or len({c.label for c in self.configurations}) != len(self.configurations)
        ):
            raise BenchmarkError(
                f"give one or more distinct configurations, got {[c.label for c in self.configurations]}"
            )
        if self.num_runs < 1 or self.warmup_runs < 0 or self.min_secs < 0 or self.timeout_s <= 0:
            raise BenchmarkError("num_runs must be >= 1, warmup_runs and min_secs >= 0, and timeout_s > 0")
        if not re.fullmatch(r"/data/local/tmp/[\w.\-/]+", self.remote_dir):
            raise BenchmarkError(f"remote_dir must be a plain folder under /data/local/tmp/, got {self.remote_dir!r}")

    def to_dict(self) -> dict:
        data = asdict(self)
        return data | {
            "artefact": str(self.artefact),
            "benchmark_model": str(self.benchmark_model),
            "configurations": None if self.configurations is None else [c.spec for c in self.configurations],
        }

    @classmethod
    def from_dict(cls, data: dict) -> AndroidBenchConfig:
        configurations = tuple(Configuration.parse(c) for c in data.get("configurations") or ())
        return cls(**{**data, "configurations": configurations or None})


class _Adb:
    """adb for one device: every call has a timeout; a failing call raises `BenchmarkError` with its output."""

    def __init__(self, executable: str, serial: str | None = None) -> None:
        self.executable, self.serial = executable, serial

    def __call__(self, *args: str, timeout_s: float = ADB_TIMEOUT_S, check: bool = True) -> tuple[int, str]:
        argv = [self.executable, *(["-s", self.serial] if self.serial else []), *args]
        try:
            done = subprocess.run(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchmarkError(f"`{shlex.join(argv)}` did not finish within {timeout_s:g} s") from exc
        except OSError as exc:
            raise BenchmarkError(f"cannot run {self.executable}: {exc}") from exc
        if check and done.returncode != 0:
            raise BenchmarkError(f"`{shlex.join(argv)}` failed (exit {done.returncode}): {done.stdout.strip()[-800:]}")
        return done.returncode, done.stdout

    def shell(self, *words: str, timeout_s: float = ADB_TIMEOUT_S, check: bool = True) -> tuple[int, str]:
        """A command on the device: its words quoted for the device's shell (adb joins them with spaces)."""
        return self("shell", *(shlex.quote(word) for word in words), timeout_s=timeout_s, check=check)


def _find_adb(adb: str) -> str:
    found = shutil.which(adb)
    if found is None:
        raise BenchmarkError(
            f"adb not found ({adb!r}): install Android SDK Platform-Tools "
            "(https://developer.android.com/tools/releases/platform-tools), put its folder on PATH or pass --adb PATH"
        )
    return found


def pick_device(adb: _Adb, serial: str | None) -> str:
    """The serial of the one ready device (or of `serial`); `BenchmarkError` says how to get there otherwise."""
    states = {}
    for line in adb("devices")[1].splitlines():
        name, tab, state = line.partition("\t")
        if tab:
            states[name.strip()] = state.strip()
    hints = {
        "unauthorized": "unlock it and accept the 'Allow USB debugging' prompt",
        "offline": "reconnect the cable or run `adb kill-server`",
    }
    if serial is not None and serial not in states:
        raise BenchmarkError(f"no device {serial!r} in `adb devices` (it lists {sorted(states) or 'none'})")
    chosen = [serial] if serial is not None else list(states)
    if not chosen:
        raise BenchmarkError(
            "no Android device connected: enable Developer options > USB debugging, connect the "
            "device by USB and accept its prompt; `adb devices` must list it as 'device'"
        )
    if len(chosen) > 1:
        raise BenchmarkError(f"several devices are connected ({', '.join(sorted(chosen))}): pick one with --serial")
    if states[chosen[0]] != "device":
        state = states[chosen[0]]
        raise BenchmarkError(f"device {chosen[0]} is {state!r}: {hints.get(state, 'check the connection')}")
    return chosen[0]


def device_facts(adb: _Adb, device_class: str) -> dict:
    """The result's ``machine`` block from ``getprop`` and the CPU count (the serial is left out on purpose)."""
    props = dict(re.findall(r"^\[([^\]]+)\]: \[(.*)\]\s*$", adb.shell("getprop")[1], flags=re.MULTILINE))
    cpu_count = None
    rc, out = adb.shell("nproc", check=False)
    if rc == 0 and out.strip().isdigit():
        cpu_count = int(out.strip())
    else:  # e.g. "0-7"
        rc, out = adb.shell("cat", "/sys/devices/system/cpu/possible", check=False)
        if rc == 0 and (m := re.fullmatch(r"(\d+)-(\d+)", out.strip())):
            cpu_count = int(m[2]) - int(m[1]) + 1
    maker, model = props.get("ro.product.manufacturer", ""), props.get("ro.product.model", "")
    name = model if model.lower().startswith(maker.lower()) else f"{maker} {model}".strip()
    soc = f"{props.get('ro.soc.manufacturer', '')} {props.get('ro.soc.model', '')}".strip()
    return {
        "class": device_class,
        "name": name or "unknown Android device",
        "os": f"Android {props.get('ro.build.version.release', '?')}",
        "processor": soc or props.get("ro.hardware") or None,
        "cpu_count": cpu_count,
        "details": {"abi": props.get("ro.product.cpu.abi"), "getprop": {key: props.get(key) for key in PROPS}},
    }


@contextlib.contextmanager
def _pushed(adb: _Adb, config: AndroidBenchConfig) -> Iterator[tuple[str, str]]:
    """Push the binary and the artefact; remove both (and the folder, if empty) afterwards, whatever happened."""
    remote_binary, remote_graph = f"{config.remote_dir}/benchmark_model", f"{config.remote_dir}/{config.artefact.name}"
    adb.shell("mkdir", "-p", config.remote_dir)
    try:
        adb("push", str(config.benchmark_model), remote_binary, timeout_s=PUSH_TIMEOUT_S)
        adb("push", str(config.artefact), remote_graph, timeout_s=PUSH_TIMEOUT_S)
        adb.shell("chmod", "755", remote_binary)
        yield remote_binary, remote_graph
    finally:
        try:
            adb.shell("rm", "-f", remote_binary, remote_graph, check=False)
            adb.shell("rmdir", config.remote_dir, check=False)
        except BenchmarkError as exc:  # a cleanup failure must not hide the error that got us here
            log.warning("could not remove the pushed files from %s: %s", config.remote_dir, exc)


def _benchmark(adb: _Adb, config: AndroidBenchConfig, configuration: Configuration, remote: tuple[str, str]) -> dict:
    binary, graph = remote
    flags = [
        f"--graph={graph}",
        *configuration.flags(),
        f"--num_runs={config.num_runs}",
        f"--warmup_runs={config.warmup_runs}",
        f"--min_secs={config.min_secs:g}",
        "--report_peak_memory_footprint=true",
    ]
    log.info("running benchmark_model: %s", configuration.label)
    rc, out = adb.shell(binary, *flags, timeout_s=config.timeout_s, check=False)
    if rc != 0:
        tail = "\n".join(out.strip().splitlines()[-12:]) or "(no output)"
        raise BenchmarkError(f"benchmark_model exited with status {rc}:\n{tail}")
    return parse_benchmark_model(out)


def run_on_device(config: AndroidBenchConfig) -> dict:
    """Benchmark ``config.artefact`` on the device in every configuration; returns the validated result.

    Raises:
        BenchmarkError: adb, the device, the artefact or its manifest cannot be used, or no configuration ran.
    """
    from privategaze import __version__

    artefact, quality = describe_artefact(config.artefact)
    if not config.benchmark_model.is_file():
        raise BenchmarkError(f"no benchmark_model binary at {config.benchmark_model} (see android_demo/BENCHMARK.md)")
    binary_sha256, _ = artefact_sha256(config.benchmark_model)
    executable = _find_adb(config.adb)
    adb = _Adb(executable, pick_device(_Adb(executable), config.serial))
    machine = device_facts(adb, config.device_class)
    machine["details"] |= {
        "benchmark_model": {"file": config.benchmark_model.name, "sha256": binary_sha256},
        "settings": {"num_runs": config.num_runs, "warmup_runs": config.warmup_runs, "min_secs": config.min_secs},
    }
    configurations = config.configurations or default_configurations(machine["cpu_count"])
    result = new_result("pgz-bench android", __version__, machine)
    with _pushed(adb, config) as remote:
        for configuration in configurations:
            try:
                record = build_record(_benchmark(adb, config, configuration, remote), configuration, artefact, quality)
                validate_record(record)  # here, so that one odd output costs its configuration, not the whole run
                result["records"].append(record)
            except BenchmarkError as exc:
                log.warning("%s skipped: %s", configuration.label, str(exc).splitlines()[0])
                log.debug("%s: %s", configuration.label, exc)
                result["skipped"].append(
                    {"artefact": artefact["file"], "configuration": configuration.label, "reason": str(exc)}
                )
    if not result["records"]:
        reasons = "; ".join(f"{s['configuration']}: {s['reason'].splitlines()[0]}" for s in result["skipped"])
        raise BenchmarkError(f"no configuration ran on {machine['name']}: {reasons}")
    return validate_result(result)


def default_out(result: dict) -> Path:
    """``benchmarks/results/devices/<device-slug>-<artefact file stem>.json``: the stem keeps the precision apart."""
    device = slug(result["machine"]["name"])
    stem = Path(result["records"][0]["artefact"]["file"]).stem
    return Path("benchmarks/results/devices") / f"{device}-{stem}.json"


def _summary(record: dict) -> str:
    runtime, latency, memory = record["runtime"], record["latency_ms"], record["memory"]
    threads = f" x{runtime['threads']}" if runtime["threads"] else ""
    peak = f", peak {memory['peak_mb']:.1f} MB" if memory else ""
    init = f", init {record['init_ms']:.1f} ms" if record["init_ms"] is not None else ""
    return (
        f"{runtime['accelerator']}{threads}: p50 {latency['p50']:.3f} ms, mean {latency['mean']:.3f} ms "
        f"(n={latency['n']}){init}{peak}"
    )


def _run(args: argparse.Namespace) -> int:
    config = AndroidBenchConfig(
        artefact=args.artefact,
        benchmark_model=args.benchmark_model,
        device_class=args.device_class,
        adb=args.adb,
        serial=args.serial,
        configurations=tuple(args.configurations) if args.configurations else None,
        num_runs=args.num_runs,
        warmup_runs=args.warmup_runs,
        min_secs=args.min_secs,
        timeout_s=args.timeout_s,
    )
    started = time.perf_counter()
    result = run_on_device(config)
    out = write_result(result, args.out or default_out(result))
    for record in result["records"]:
        log.info("%s", _summary(record))
    log.info(
        "wrote %s: %d records, %d skipped, on %s in %.0f s",
        out,
        len(result["records"]),
        len(result["skipped"]),
        result["machine"]["name"],
        time.perf_counter() - started,
    )
    return 0


def _argument(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` that turns a `BenchmarkError` or `ValueError` into a usage error (exit 2)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (BenchmarkError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def _at_least(kind: Callable[[str], float], low: float) -> Callable[[str], Any]:
    def check(text: str) -> float:
        value = kind(text)
        if value < low:
            raise ValueError(f"must be >= {low}, got {text}")
        return value

    check.__name__ = kind.__name__
    return _argument(check)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``android`` subcommand (handler `_run`) to a ``pgz-bench`` subparsers object."""
    parser = subparsers.add_parser(
        "android",
        help="LiteRT's benchmark_model on a phone or tablet over adb",
        description="Push a .tflite artefact and LiteRT's benchmark_model to an Android device over adb, run it in "
        "each configuration and write the results in the benchmark schema. See android_demo/BENCHMARK.md.",
    )
    parser.add_argument(
        "--artefact", type=Path, required=True, help="a .tflite artefact from pgz-export (sidecar beside it)"
    )
    parser.add_argument(
        "--benchmark-model", type=Path, required=True, help="benchmark_model built for the device (arm64)"
    )
    parser.add_argument("--device-class", choices=DEVICE_CLASSES, required=True, help="phone or tablet")
    parser.add_argument("--adb", default="adb", help="adb executable (default: adb on PATH)")
    parser.add_argument("--serial", help="device serial from `adb devices`, when several are connected")
    parser.add_argument(
        "--config",
        dest="configurations",
        action="append",
        type=_argument(Configuration.parse),
        metavar="ACCELERATOR[:THREADS]",
        help=f"repeatable; accelerators {sorted(ACCELERATORS)} (default: xnnpack:1 xnnpack:2 "
        "xnnpack:<the device's CPU count> gpu)",
    )
    parser.add_argument("--num-runs", type=_at_least(int, 1), default=100, help="timed runs, at least (default 100)")
    parser.add_argument("--warmup-runs", type=_at_least(int, 0), default=10, help="warm-up runs (default 10)")
    parser.add_argument(
        "--min-secs", type=_at_least(float, 0.0), default=1.0, help="timed seconds, at least (default 1)"
    )
    parser.add_argument("--timeout-s", type=_at_least(float, 1.0), default=600.0, help="limit per benchmark_model run")
    parser.add_argument(
        "--out", type=Path, help="result file (default benchmarks/results/devices/<device>-<artefact stem>.json)"
    )
    parser.set_defaults(handler=_run)
    return parser
