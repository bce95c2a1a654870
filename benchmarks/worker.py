"""One benchmark configuration, run in a fresh process so that its memory peak and start-up cost are its own.

`pgz-bench host` starts ``python -m privategaze.benchmarks.worker`` once per (artefact, runtime, threads, scope) with
a JSON job on stdin and reads one JSON answer from stdout. Only the runtime under test is imported: ONNX Runtime and
LiteRT jobs never import torch.

Job fields: ``runtime`` ("onnxruntime", "litert", "torch"), ``path`` (artefact, or checkpoint directory for torch;
null for an untrained torch module), ``arch``/``width`` (torch), ``size``, ``threads``, ``scope`` ("model" or
"sdk-e2e"), ``input`` (a .npy face, 1x3xSxS float32 in [0, 1]), ``frames`` (sdk-e2e: an .npz of camera frames),
and the run budget ``warmup_runs``, ``min_runs``, ``min_seconds``, ``max_seconds``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from privategaze.errors import BenchmarkError

MIN_TIMED_RUNS = 10  # a p90 of fewer runs says nothing
E2E_STAGES = ("decode", "normalize", "preserve", "encode")


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    Linux: VmHWM of /proc/self/status, the high-water mark of this process's own address space (ru_maxrss would
    carry the parent's peak over fork and exec). Elsewhere ru_maxrss (bytes on macOS).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def timed_runs(run: Callable[[], object], job: dict) -> tuple[float, list[float], int]:
    """First call, warm-up, then timed calls until the budget says stop: (first ms, timed ms, warm-up count)."""
    start = time.perf_counter()
    run()
    first_ms = 1000 * (time.perf_counter() - start)
    warmup = 0
    warm_start = time.perf_counter()
    while warmup < job["warmup_runs"] and time.perf_counter() - warm_start < job["max_seconds"] / 4:
        run()
        warmup += 1
    times: list[float] = []
    begin = time.perf_counter()
    while True:
        start = time.perf_counter()
        run()
        end = time.perf_counter()
        times.append(1000 * (end - start))
        elapsed = end - begin
        enough = len(times) >= job["min_runs"] and elapsed >= job["min_seconds"]
        if len(times) >= MIN_TIMED_RUNS and (enough or elapsed >= job["max_seconds"]):
            return first_ms, times, warmup


def runtime_version(runtime: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version({"onnxruntime": "onnxruntime", "litert": "ai-edge-litert", "torch": "torch"}[runtime])
    except PackageNotFoundError:
        return None


def model_runner(job: dict) -> tuple[Callable[[], object], str | None]:
    """Load the model the job names (the timed init) and return a batch-1 call on the face, and the runtime version."""
    face = np.load(job["input"]).astype(np.float32)
    runtime, threads = job["runtime"], int(job["threads"])
    if runtime == "onnxruntime":  # the SDK backend's session options (privategaze.backends.onnxruntime)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.log_severity_level = 3
        session = ort.InferenceSession(job["path"], options, providers=["CPUExecutionProvider"])
        (source,), output = session.get_inputs(), session.get_outputs()[0].name
        feed = {source.name: face.transpose(0, 2, 3, 1).copy() if source.shape[-1] == 3 else face}
        return (lambda: session.run([output], feed)), runtime_version(runtime)
    if runtime == "litert":  # the interpreter's default CPU path applies XNNPACK
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=job["path"], num_threads=threads)
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        tensor = (face.transpose(0, 2, 3, 1) if detail["shape"][-1] == 3 else face).astype(detail["dtype"])
        index = detail["index"]

        def invoke() -> None:
            interpreter.set_tensor(index, tensor)
            interpreter.invoke()

        return invoke, runtime_version(runtime)
    if runtime == "torch":
        import torch

        torch.set_num_threads(threads)
        if job["path"]:
            from privategaze.training.preserver import load_preserver

            module, _ = load_preserver(job["path"])
        else:
            from privategaze.training.models.preservers import build_deployable

            module = build_deployable(job["arch"], int(job["size"]), int(job["width"]))
        module.eval()
        tensor = torch.from_numpy(face)

        def forward() -> None:
            with torch.inference_mode():
                module(tensor)

        return forward, runtime_version(runtime)
    raise BenchmarkError(f"unknown runtime {runtime!r}")


def run_model(job: dict) -> dict:
    start = time.perf_counter()
    run, version = model_runner(job)
    init_ms = 1000 * (time.perf_counter() - start)
    first_ms, times, warmup = timed_runs(run, job)
    return {"version": version, "init_ms": init_ms, "first_inference_ms": first_ms, "times_ms": times,
            "warmup": warmup}  # fmt: skip


def run_sdk(job: dict) -> dict:
    """Camera frame (JPEG bytes) -> decode -> normalize (six landmarks) -> preserve -> PNG, through the SDK."""
    from privategaze.face import normalize_face
    from privategaze.image import load_image
    from privategaze.preserver import Preserver

    with np.load(job["frames"]) as frames:  # read once: NpzFile re-reads its zip member on every access
        jpeg, lengths = frames["jpeg"], frames["length"]
        landmarks, cameras = frames["landmarks"], frames["camera"]
    jpegs = [bytes(jpeg[k][: lengths[k]]) for k in range(len(lengths))]
    start = time.perf_counter()
    preserver = Preserver(job["path"], threads=int(job["threads"]))
    init_ms = 1000 * (time.perf_counter() - start)
    spec = preserver.manifest.normalization
    stages: dict[str, list[float]] = {name: [] for name in E2E_STAGES}
    counter = iter(range(1 << 62))

    def frame() -> None:
        k = next(counter) % len(jpegs)
        clock = [time.perf_counter()]
        pixels = load_image(jpegs[k])
        clock.append(time.perf_counter())
        face = normalize_face(
            pixels, spec, landmarks=landmarks[k], camera_matrix=cameras[k], face_model=preserver.face_model
        )
        clock.append(time.perf_counter())
        obfuscated = preserver.obfuscate(face.pixels, normalization=face.normalization)
        clock.append(time.perf_counter())
        obfuscated.encode("png")
        clock.append(time.perf_counter())
        for name, begin, end in zip(E2E_STAGES, clock[:-1], clock[1:], strict=True):
            stages[name].append(1000 * (end - begin))

    first_ms, times, warmup = timed_runs(frame, job)
    timed = len(times)
    return {
        "version": runtime_version(job["runtime"]),
        "init_ms": init_ms,
        "first_inference_ms": first_ms,
        "times_ms": times,
        "warmup": warmup,
        "stages_ms": {name: float(np.median(values[-timed:])) for name, values in stages.items()},
    }


def main() -> int:
    job = json.loads(sys.stdin.read())
    if job["runtime"] == "onnxruntime":
        import onnxruntime  # noqa: F401  (the baseline includes the runtime, not the model)
    elif job["runtime"] == "litert":
        import ai_edge_litert.interpreter  # noqa: F401
    else:  # the training package too: init times loading the module, not importing the code
        import privategaze.training.models.preservers
        import privategaze.training.preserver  # noqa: F401
    baseline = peak_rss_mb()
    answer = run_sdk(job) if job["scope"] == "sdk-e2e" else run_model(job)
    answer |= {"peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline}
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
