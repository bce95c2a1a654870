"""The `pgz-demo` report: one Markdown file a person reads, from the run summary `pgz-demo` writes as `demo.json`.

`write_report(summary, out_dir)` writes ``out_dir/report.md`` and copies every image it shows into
``out_dir/images/`` (and every document it links that lies outside `out_dir` into ``out_dir/files/``), so the
folder can be zipped or pushed as it is. The summary's keys (written by `privategaze.benchmarks.demo`)::

    preset, seconds_total, created_utc, blackbox, surrogate
    steps:      [{name, seconds, reused, detail}, ...]
    estimators: {"blackbox" | "surrogate": {dir, metrics (metrics.json), reused (optional)}}
    preserver:  {dir, metrics (metrics.json), anchor_png, reused (optional)}
    exports:    [{file, target, precision, size_bytes, quality (the manifest's quality block) | null}, ...]
    sdk_run:    {n_frames, gaze_error_deg, raw_gaze_error_deg, artefact, strip_png, animation_gif, service}
    audit:      {json, md, scatter_png, grid_png}
    bench:      {json, md, png}
    bars:       {gaze | identity | gender | raw_identity | raw_gender: {value, limit, met, rule ("<=" | ">=")}}

The raw_* bars are the audit's control: the attackers must see through raw faces (rule ">="). ``created_utc`` and
``reused`` are optional (``reused`` falls back to the step of the same name). Any of ``sdk_run``, ``audit`` (with
``bars``) and ``bench`` may be missing (the step was skipped or turned off), and any figure may be null: the report
then says so. Relative paths are read from `root` (default: the working directory). Gaze figures are degrees;
attacker accuracies are fractions, shown as percentages.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from privategaze.benchmarks.report import flatten
from privategaze.benchmarks.schema import load_result
from privategaze.errors import PrivateGazeError

log = logging.getLogger(__name__)
MARKS = {True: "✓", False: "✗", None: "?"}
BARS = {  # key -> (what is measured, unit)
    "gaze": ("gaze error of the black box on obfuscated faces", "deg"),
    "identity": ("identity attacker accuracy", "%"),
    "gender": ("gender attacker accuracy", "%"),
}
MIN_IMAGE_SIDE = 144  # smaller images (a 48 px anchor) are enlarged by a whole factor, so they are seen
LATENCY_ROWS = 20
NO_FIGURE = "–"


def _deg(value: Any) -> str:
    return NO_FIGURE if value is None else f"{value:.2f}°"


def _pct(value: Any) -> str:
    return NO_FIGURE if value is None else f"{100 * value:.1f}%"


def _figure(value: Any, unit: str) -> str:
    return _deg(value) if unit == "deg" else _pct(value)


def _signed(value: float) -> str:
    return f"{round(value, 2) + 0.0:+.2f}"  # + 0.0: a change that rounds to zero shows as +0.00, never -0.00


def _duration(seconds: Any) -> str:
    if seconds is None:
        return NO_FIGURE
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _size(size_bytes: Any) -> str:
    if size_bytes is None:
        return NO_FIGURE
    return f"{size_bytes / 1024:,.0f} KiB" if size_bytes < 1024**2 else f"{size_bytes / 1024**2:,.1f} MiB"


def _flops(flops: Any) -> str:
    return NO_FIGURE if flops is None else f"{flops / 1e6:,.1f} MFLOPs"


def _params(count: Any) -> str:
    return NO_FIGURE if count is None else f"{count / 1e6:.2f} M" if count >= 1e6 else f"{count / 1e3:.0f} k"


def _yes_no(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, NO_FIGURE)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell).replace("|", "/") for cell in row) + " |" for row in rows]


class _Attachments:
    """Copies what the report shows into `out_dir` and answers the relative link to it (None if it is missing)."""

    def __init__(self, out_dir: Path, root: Path) -> None:
        self.out_dir, self.root = out_dir, root

    def source(self, path: Any) -> Path | None:
        if not path:
            return None
        source = Path(path) if Path(path).is_absolute() else self.root / path
        if not source.is_file():
            log.warning("the demo report cannot show %s: no such file", source)
            return None
        return source

    def image(self, path: Any, name: str) -> str | None:
        """Copy an image to ``images/<name><suffix>``, enlarging a small still image; the link, or None."""
        source = self.source(path)
        if source is None:
            return None
        target = self.out_dir / "images" / f"{name}{source.suffix.lower()}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target.resolve():
            try:
                with Image.open(source) as picture:
                    factor = -(-MIN_IMAGE_SIDE // max(1, min(picture.size)))
                    if factor > 1 and not getattr(picture, "is_animated", False):
                        size = (picture.width * factor, picture.height * factor)
                        picture.resize(size, Image.Resampling.NEAREST).save(target)
                    else:
                        shutil.copyfile(source, target)
            except OSError as exc:
                log.warning("the demo report cannot show %s: %s", source, exc)
                return None
        return target.relative_to(self.out_dir).as_posix()

    def figure(self, path: Any, name: str, alt: str) -> str:
        """A Markdown image line for `path` (copied as `name`), or a note that it is missing."""
        link = self.image(path, name)
        return f"![{alt}]({link})" if link else f"*({alt}: no image at `{path}`)*"

    def document(self, path: Any) -> str | None:
        """Link a document where it lies inside `out_dir`, else copy it to ``files/``; the link, or None."""
        source = self.source(path)
        if source is None:
            return None
        try:
            return source.resolve().relative_to(self.out_dir.resolve()).as_posix()
        except ValueError:
            target = self.out_dir / "files" / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            return target.relative_to(self.out_dir).as_posix()


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _bar_text(bar: Mapping[str, Any] | None, unit: str) -> tuple[bool | None, str]:
    """(met, "value (bar <= limit)"); the rule is the bar's own ("<=" unless it says ">=")."""
    bar = bar or {}
    met = bar.get("met") if bar.get("met") in (True, False) else None
    rule = "≥" if bar.get("rule") == ">=" else "≤"
    return met, f"{_figure(bar.get('value'), unit)} (bar {rule} {_figure(bar.get('limit'), unit)})"


def _verdict(bars: Mapping[str, Any]) -> str:
    if not bars:
        return "**No bar was checked**: the audit did not run."
    met = {key: _bar_text(bars.get(key), unit)[0] for key, (_, unit) in BARS.items()}
    if all(m is True for m in met.values()):
        verdict = "**The exported preserver meets all three bars.**"
    elif missed := [key for key, m in met.items() if m is False]:
        verdict = f"**The exported preserver misses the {_join(missed)} bar{'s' if len(missed) > 1 else ''}.**"
    else:
        verdict = "**Not every bar could be decided** (a figure is missing)."
    if any(bars.get(f"raw_{key}", {}).get("met") is False for key in ("identity", "gender")):
        verdict += " The attackers are weak even on raw faces, so their low accuracy after the preserver proves little."
    return verdict


def _summary_section(summary: Mapping[str, Any]) -> list[str]:
    bars = summary.get("bars") or {}
    exports = summary.get("exports") or []
    done = [f"exported it as {len(exports)} artefact{'s' if len(exports) != 1 else ''}"]
    if summary.get("sdk_run"):
        done.append(f"ran the SDK in front of the gaze service on {summary['sdk_run'].get('n_frames', '?')} frames")
    done += [text for key, text in (("audit", "audited it"), ("bench", "benchmarked it")) if summary.get(key)]
    lines = [
        f"`pgz-demo` (preset `{summary.get('preset', '?')}`) trained a black-box gaze estimator "
        f"(`{summary.get('blackbox', '?')}`), a surrogate (`{summary.get('surrogate', '?')}`) and a privacy "
        f"preserver for that black box, {_join(done)}, in {_duration(summary.get('seconds_total'))}. " + _verdict(bars),
    ]
    if bars:
        lines.append("")
        for key, (what, unit) in BARS.items():
            mark, text = _bar_text(bars.get(key), unit)
            lines.append(f"- {MARKS[mark]} **{key}**: {what} {text}")
    raw = [(key, _bar_text(bars[f"raw_{key}"], "%")) for key in ("identity", "gender") if bars.get(f"raw_{key}")]
    if raw:
        figures = _join([f"{MARKS[mark]} {key} {text}" for key, (mark, text) in raw])
        lines.append(f"- Control, the same attackers on the raw faces (they must see through them): {figures}.")
    return lines


def _reused(summary: Mapping[str, Any], entry: Mapping[str, Any], step_name: str) -> Any:
    if "reused" in entry:
        return entry["reused"]
    key = re.sub(r"[^a-z0-9]", "", step_name.lower())
    steps = {re.sub(r"[^a-z0-9]", "", str(s.get("name", "")).lower()): s for s in summary.get("steps") or []}
    return (steps.get(key) or {}).get("reused")


def _estimator_row(summary: Mapping[str, Any], role: str, label: str) -> list[str]:
    entry = (summary.get("estimators") or {}).get(role) or {}
    metrics = entry.get("metrics") or {}
    error = f"{_deg(metrics.get('users_mean_error_deg'))} (median {_deg(metrics.get('users_median_error_deg'))})"
    name = f"`{metrics.get('name') or summary.get(role, '?')}`"
    figures = [error, NO_FIGURE, _params(metrics.get("parameters")), _duration(metrics.get("seconds"))]
    return [label, name, *figures, _yes_no(_reused(summary, entry, role))]


def _preserver_row(summary: Mapping[str, Any]) -> list[str]:
    preserver = summary.get("preserver") or {}
    metrics, cost = preserver.get("metrics") or {}, (preserver.get("metrics") or {}).get("cost_at_size") or {}
    error = (
        f"{_deg(metrics.get('blackbox_obfuscated_error_deg'))} on the black box "
        f"(raw {_deg(metrics.get('blackbox_raw_error_deg'))})"
    )
    # The training's own time (kept in its state, so a reloaded run shows it too); runs before that record: the run's.
    trained = metrics.get("training_seconds")
    seconds = trained if trained is not None else metrics.get("seconds")
    figures = [error, _flops(cost.get("flops")), _params(cost.get("parameters")), _duration(seconds)]
    return [
        "preserver (on the phone)",
        f"`{metrics.get('name', '?')}`",
        *figures,
        _yes_no(_reused(summary, preserver, "preserver")),
    ]


def _anchor_lines(preserver: Mapping[str, Any], files: _Attachments) -> list[str]:
    anchor_png = preserver.get("anchor_png")
    lines = [
        "**The anchor**, the face every user's face is turned into:",
        "",
        files.figure(anchor_png, "anchor", "anchor face"),
    ]
    provenance = files.source(Path(anchor_png).with_suffix(".json") if anchor_png else None)
    if provenance is not None:
        anchor = json.loads(provenance.read_text(encoding="utf-8"))
        k = anchor.get("k", "?")
        made = "One public face" if k == 1 else f"The average of {k} public faces"
        lines += [
            "",
            f"{made}, chosen so that the black box and the surrogate agree on its gaze (they differ by "
            f"{_deg(anchor.get('disagreement_anchor_deg'))}, against {_deg(anchor.get('disagreement_pool_mean_deg'))} "
            f"on an average face of the pool); {anchor.get('blackbox_queries', '?')} black-box queries.",
        ]
    return lines


def _trained_section(summary: Mapping[str, Any], files: _Attachments) -> list[str]:
    rows = [
        _estimator_row(summary, "blackbox", "black box (the service's model)"),
        _estimator_row(summary, "surrogate", "surrogate (ours)"),
        _preserver_row(summary),
    ]
    header = ["network", "name", "gaze error on users' faces", "FLOPs", "parameters", "training", "reused"]
    note = (
        "Errors are mean angular errors on held-out users' faces. Training time is what the last run spent "
        "(a reused or resumed network shows only its last part)."
    )
    preserver = summary.get("preserver") or {}
    metrics = preserver.get("metrics") or {}
    queries = [metrics.get(k) for k in ("anchor_blackbox_queries", "training_blackbox_queries")]
    if all(q is not None for q in queries):
        note += f" Making the preserver cost {sum(queries):,} black-box queries."
    if metrics.get("msssim_to_anchor") is not None:
        note += f" Its output is MS-SSIM {metrics['msssim_to_anchor']:.3f} close to the anchor (1 = identical)."
    return ["## What was trained", "", *_table(header, rows), "", note, "", *_anchor_lines(preserver, files)]


def _audit_table(markdown: str) -> list[str]:
    """The audit's legend and table: its title, data lines and images (linked relative to it) dropped."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith("# ") or line.startswith("![") or re.match(r"- \w+: ", line):
            continue
        lines.append("#### " + line.lstrip("#").strip() if line.startswith("##") else line)
    return "\n".join(lines).strip().splitlines()


def _privacy_section(summary: Mapping[str, Any], files: _Attachments) -> list[str]:
    lines = ["## Privacy and utility of the exported model", ""]
    audit = summary.get("audit")
    if not audit:
        return [*lines, "The audit did not run in this demo (skipped or turned off): no attacker figures."]
    lines += [
        "Attackers trained on what the service receives, with the true labels, try to tell who the user is and "
        "their gender; the black box tries to read gaze. Raw faces and simple baselines (blur, pixelate, noise) "
        "are measured beside the preserver.",
        "",
    ]
    source = files.source(audit.get("md"))
    lines += (
        _audit_table(source.read_text(encoding="utf-8")) if source else [f"*(no audit table at `{audit.get('md')}`)*"]
    )
    lines += ["", files.figure(audit.get("scatter_png"), "audit_scatter", "privacy against utility")]
    lines += ["", files.figure(audit.get("grid_png"), "audit_grid", "faces before and after")]
    if audit.get("eye_sweep_png"):
        lines += [
            "",
            "Still heads in order of eye yaw: raw, obfuscated and the anchor. The obfuscated eyes should follow the "
            "raw ones down the column.",
            "",
            files.figure(audit["eye_sweep_png"], "audit_eye_sweep", "eye sweep: do the obfuscated eyes follow?"),
        ]
    links = [(label, files.document(audit.get(key))) for label, key in (("audit.md", "md"), ("audit.json", "json"))]
    if links := [f"[{label}]({link})" for label, link in links if link]:
        lines += ["", "Full audit: " + ", ".join(links) + "."]
    return lines


def _sdk_section(summary: Mapping[str, Any], files: _Attachments) -> list[str]:
    lines = ["## The SDK in front of the gaze service", ""]
    run = summary.get("sdk_run")
    if not run:
        return [*lines, "The SDK run did not happen in this demo (skipped or turned off)."]
    error, raw = run.get("gaze_error_deg"), run.get("raw_gaze_error_deg")
    change = f", {_signed(error - raw)}° for privacy" if error is not None and raw is not None else ""
    lines += [
        f"The runtime SDK (`Preserver` then `GazeClient`) obfuscated {run.get('n_frames', '?')} held-out users' faces "
        f"with `{Path(str(run.get('artefact', '?'))).name}` and sent them to {run.get('service', 'the gaze service')}. "
        f"Only obfuscated faces left the process. The service read gaze with a mean error of **{_deg(error)}** "
        f"({_deg(raw)} on the raw faces{change}).",
        "",
        files.figure(run.get("strip_png"), "gaze_strip", "raw and obfuscated faces with gaze"),
        "",
        files.figure(run.get("animation_gif"), "gaze_animation", "the sequence, animated"),
    ]
    return lines


def _latency_row(row: Mapping[str, Any]) -> list[str]:
    art, runtime, latency = row["artefact"], row["runtime"], row["latency_ms"]
    estimate = " (estimate)" if row["kind"] == "estimate" else ""
    scope = " SDK end to end" if row["scope"] == "sdk-e2e" else ""
    p90, fps = latency.get("p90"), row.get("throughput_fps")
    return [
        f"`{art['file']}`{scope}",
        f"{runtime['name']} {runtime['accelerator']}{estimate}",
        str(runtime.get("threads") or NO_FIGURE),
        f"{latency['p50']:.3f}",
        NO_FIGURE if p90 is None else f"{p90:.3f}",
        NO_FIGURE if fps is None else f"{fps:,.0f}",
        _size(art.get("size_bytes")),
    ]


def _latency_section(summary: Mapping[str, Any], files: _Attachments) -> list[str]:
    lines = ["## Latency", ""]
    bench = summary.get("bench")
    if not bench:
        return [*lines, "The benchmark did not run in this demo (skipped or turned off)."]
    source = files.source(bench.get("json"))
    try:
        result = load_result(source) if source else None
    except PrivateGazeError as exc:
        return [*lines, f"The benchmark result could not be read: {exc}"]
    if result is not None:
        machine, rows = result["machine"], flatten([result])
        lines += [f"On {machine['name']} ({machine['os']}), batch 1, milliseconds per face; fps from the mean.", ""]
        fastest = min(
            (r for r in rows if r["kind"] == "measured" and r["scope"] == "model"),
            key=lambda r: r["latency_ms"]["p50"],
            default=None,
        )
        if fastest is not None:
            lines += [
                f"Fastest: `{fastest['artefact']['file']}` on {fastest['runtime']['name']} with "
                f"{fastest['runtime'].get('threads') or '?'} thread(s), **{fastest['latency_ms']['p50']:.3f} ms** "
                "median per face.",
                "",
            ]
        header = ["artefact", "runtime", "threads", "p50 ms", "p90 ms", "fps", "size"]
        lines += _table(header, [_latency_row(r) for r in rows[:LATENCY_ROWS]])
        if len(rows) > LATENCY_ROWS:
            lines += ["", f"…and {len(rows) - LATENCY_ROWS} more configurations in the full table."]
    else:
        lines.append(f"*(no benchmark result at `{bench.get('json')}`)*")
    if link := files.document(bench.get("md")):
        lines += ["", f"Full table, with memory, FLOPs and task-level figures per row: [{Path(link).name}]({link})."]
    if bench.get("png"):
        lines += ["", files.figure(bench.get("png"), "latency", "latency chart")]
    return lines


def _export_row(export: Mapping[str, Any]) -> list[str]:
    quality = export.get("quality") or {}
    gaze = quality.get("gaze") or {}
    increase = gaze.get("increase_deg")
    gaze_cell = _deg(gaze.get("artefact_deg")) + ("" if increase is None else f" ({_signed(increase)})")
    skipped = str(quality.get("skipped") or "").split(";")[0]
    gate = {True: "✓ passed", False: "✗ failed"}.get(
        quality.get("passed"), f"not run{': ' + skipped if skipped else ''}"
    )
    return [
        f"`{Path(str(export.get('file', '?'))).name}`",
        str(export.get("target", NO_FIGURE)),
        str(export.get("precision", NO_FIGURE)),
        _size(export.get("size_bytes")),
        gaze_cell,
        _pct((quality.get("identity") or {}).get("artefact")),
        _pct((quality.get("gender") or {}).get("artefact")),
        gate,
    ]


def _artefacts_section(summary: Mapping[str, Any]) -> list[str]:
    lines = ["## Artefacts", ""]
    exports = summary.get("exports") or []
    if not exports:
        return [*lines, "Nothing was exported."]
    folders = {Path(str(e.get("file", ""))).parent.as_posix() for e in exports}
    if len(folders) == 1:
        lines += [f"In `{folders.pop()}/`:", ""]
    header = ["file", "target", "precision", "size", "gaze (vs PyTorch)", "identity", "gender", "export gate"]
    lines += _table(header, [_export_row(e) for e in exports])
    lines += [
        "",
        "Figures from each artefact's export validation (its manifest's `quality` block, also in the `.json` "
        "sidecar beside it): the artefact itself re-measured on the users' faces, so quantization cannot hide a loss.",
    ]
    return lines


def _steps_section(summary: Mapping[str, Any]) -> list[str]:
    rows = [
        [str(s.get("name", "?")), _duration(s.get("seconds")), _yes_no(s.get("reused")), str(s.get("detail") or "")]
        for s in summary.get("steps") or []
    ]
    rows.append(["**total**", f"**{_duration(summary.get('seconds_total'))}**", "", ""])
    return ["## Steps and timings", "", *_table(["step", "time", "reused", "detail"], rows)]


NEXT_STEPS = """## What next

- **Use your own data.** `privategaze.training.data.real` loads ETH-XGaze, MPIIFaceGaze, GazeCapture and \
ColumbiaGaze into the same samples as the synthetic data; `pgz-data write-h5` shows the ETH-XGaze layout.
- **Target your own gaze API.** `GazeClient` with an adapter (`http-json`, `multipart` or `callable`; \
`privategaze.adapters`) talks to any service: request field, encoding, response paths, units and signs are \
configuration. See the README's *Runtime SDK* section.
- **Ship it to a phone.** `android_demo/` (LiteRT, the `.tflite` artefacts) and `ios_demo/` (Core ML, the \
`.mlpackage` artefacts) hold the guides.
- **Benchmark on a device.** `pgz-bench android --artefact X.int8.tflite ...` over adb, or the iOS benchmark \
screen (`ios_demo/BENCHMARK.md`); `pgz-bench merge` puts the results beside this host's.
"""


def write_report(summary: Mapping[str, Any], out_dir: str | Path, root: str | Path | None = None) -> Path:
    """Write ``out_dir/report.md`` from a `pgz-demo` run summary (see the module docstring) and return its path.

    Args:
        summary: The run summary, as `pgz-demo` writes it to ``demo.json``.
        out_dir: The report's folder; images are copied into ``out_dir/images/``.
        root: The folder relative paths in `summary` are read from (default: the working directory).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = _Attachments(out_dir, Path(root) if root is not None else Path.cwd())
    created = summary.get("created_utc")
    head = [
        "# PrivateGaze demo",
        "",
        f"Preset `{summary.get('preset', '?')}`{f', run {created}' if created else ''}.",
        "",
    ]
    sections = [
        _summary_section(summary),
        _trained_section(summary, files),
        _privacy_section(summary, files),
        _sdk_section(summary, files),
        _latency_section(summary, files),
        _artefacts_section(summary),
        _steps_section(summary),
        NEXT_STEPS.splitlines(),
    ]
    text = "\n".join(head + [line for section in sections for line in [*section, ""]])
    path = out_dir / "report.md"
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
    log.info("demo report: %s", path)
    return path
