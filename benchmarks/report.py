"""Benchmark results for people: one Markdown table and one PNG chart, for one run or many merged.

Measured figures and estimates are never mixed: estimates get their own table, each row saying how it was made, and
are drawn hatched. Task-level figures (gaze error, attacker accuracy) sit in the same row as the speed, so a faster
but leakier model cannot hide; a device record without them takes them from any record of the same artefact
(same sha256).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from privategaze.benchmarks.schema import SCHEMA, now_utc

log = logging.getLogger(__name__)
COLUMNS = (
    "machine",
    "file",
    "arch (w)",
    "runtime",
    "threads",
    "scope",
    "init ms",
    "first ms",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "fps",
    "peak MB",
    "size KiB",
    "MFLOPs",
    "params",
    "gaze deg (vs torch)",
    "identity % (chance)",
    "gender %",
)
MACHINE_ORDER = {"host": 0, "phone": 1, "tablet": 2}


def flatten(results: Iterable[dict]) -> list[dict]:
    """Every record with its machine attached, task-level figures filled in by sha256 where a record lacks them."""
    rows = [record | {"machine": result["machine"]} for result in results for record in result["records"]]
    by_sha = {r["artefact"]["sha256"]: r["quality"] for r in rows if r["artefact"].get("sha256") and r.get("quality")}
    for row in rows:
        if not row.get("quality") and row["artefact"].get("sha256") in by_sha:
            row["quality"] = by_sha[row["artefact"]["sha256"]] | {"source": "same artefact (sha256) in another file"}
    return sorted(rows, key=_order)


def _order(row: dict) -> tuple:
    art, runtime = row["artefact"], row["runtime"]
    return (
        MACHINE_ORDER.get(row["machine"]["class"], 9),
        row["machine"]["name"],
        row["scope"],
        art["input_size"],
        art.get("arch") or "",
        art["target"],
        art["precision"],
        runtime["accelerator"],
        runtime.get("threads") or 0,
    )


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _quality_cells(quality: dict | None) -> list[str]:
    if not quality or quality.get("gaze_error_deg") is None:
        return ["–", "–", "–"]
    increase = quality.get("gaze_increase_deg")
    gaze = f"{quality['gaze_error_deg']:.2f} ({'?' if increase is None else f'{increase:+.2f}'})"
    identity, gender = quality.get("identity_accuracy"), quality.get("gender_accuracy")
    chance = quality.get("identity_chance")
    identity_cell = (
        "–" if identity is None else f"{100 * identity:.1f} ({100 * chance:.1f})" if chance else f"{100 * identity:.1f}"
    )
    return [gaze, identity_cell, "–" if gender is None else f"{100 * gender:.1f}"]


def row_cells(row: dict) -> list[str]:
    art, runtime, latency = row["artefact"], row["runtime"], row["latency_ms"]
    machine = f"{row['machine']['class']}: {row['machine']['name']}"
    arch = f"{art.get('arch') or '?'} ({art.get('width') or '?'})"
    runtime_cell = f"{runtime['name']} {runtime.get('version') or ''} {runtime['accelerator']}".replace("  ", " ")
    size = art.get("size_bytes")
    flops = art.get("flops")
    memory = (row.get("memory") or {}).get("peak_mb")
    file_cell = f"{art['file']} ({art['input_size']} px{', untrained' if art['weights'] == 'untrained' else ''})"
    return [
        machine,
        file_cell,
        arch,
        runtime_cell,
        _num(runtime.get("threads")),
        row["scope"],
        _num(row.get("init_ms")),
        _num(row.get("first_inference_ms")),
        _num(latency["p50"], 3),
        _num(latency.get("p90"), 3),
        _num(latency.get("p99"), 3),
        _num(row.get("throughput_fps"), 1),
        _num(memory, 1),
        "–" if size is None else f"{size / 1024:,.0f}",
        "–" if flops is None else f"{flops / 1e6:,.1f}",
        _num(art.get("parameters")),
        *_quality_cells(row.get("quality")),
    ]


def _table(rows: list[dict], extra: tuple[str, ...] = ()) -> list[str]:
    header = [*COLUMNS, *extra]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = row_cells(row) + ([row.get("estimate_method", "")] if extra else [])
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return lines


def markdown(results: list[dict], title: str) -> str:
    """The Markdown report: machines, measured table, estimates table, comparisons, skipped configurations."""
    rows = flatten(results)
    measured = [r for r in rows if r["kind"] == "measured"]
    estimates = [r for r in rows if r["kind"] == "estimate"]
    lines = [f"# {title}", "", f"Schema `{SCHEMA}`; rendered {now_utc()} by `pgz-bench`.", "", "## Machines", ""]
    for result in results:
        machine, tool = result["machine"], result["tool"]
        lines.append(
            f"- **{machine['class']}: {machine['name']}**: {machine['os']}, {machine.get('cpu_count') or '?'} cores; "
            f"{tool['name']} {tool.get('version') or ''}, {result['created_utc']}; {len(result['records'])} records"
        )
    lines += [
        "",
        "## Measured",
        "",
        "Batch 1. Latency after warm-up; fps = 1000 / mean latency (one stream, "
        "sequential). Task-level figures from each artefact's export validation: black-box gaze error on "
        "the users' test faces (change vs the PyTorch module), identity and gender attacker accuracy.",
        "",
    ]
    lines += _table(measured)
    lines += ["", "## Estimates (not measured)", ""]
    lines += _table(estimates, ("how it was estimated",)) if estimates else ["None."]
    for result in results:
        comparisons = result.get("comparisons") or {}
        if comparisons:
            lines += ["", f"## Comparisons ({result['machine']['name']})", ""]
            lines += _comparison_lines(comparisons)
    skipped = [(result["machine"]["name"], s) for result in results for s in result.get("skipped", [])]
    if skipped:
        lines += ["", "## Not measured", ""] + [f"- {m}: `{s['artefact']}`: {s['reason']}" for m, s in skipped]
    return "\n".join(lines) + "\n"


def _comparison_lines(comparisons: dict) -> list[str]:
    lines = []
    ratios = [
        (runtime, label, c)
        for key, runtime in (("onnx", "ONNX Runtime"), ("litert", "LiteRT"))
        for label, c in comparisons.get(f"paper_pytorch_fp32_over_mobile_{key}_int8_1_thread", {}).items()
    ]
    for runtime, label, c in ratios:
        target = c.get("target")
        verdict = (
            "no target at this size"
            if not target
            else f"{'meets' if c['ratio_p50'] >= target else 'misses'} the {target}x target"
        )
        flops_ratio = c["paper"]["flops"] / c["mobile"]["flops"]
        lines.append(
            f"- Paper architecture eager PyTorch fp32 over mobile {runtime} int8, 1 thread, {label} "
            f"({c['input_size']} px, widths {c['paper']['width']} vs {c['mobile']['width']}): "
            f"{c['paper']['p50_ms']:.2f} / {c['mobile']['p50_ms']:.3f} ms = **{c['ratio_p50']:.1f}x** "
            f"({verdict}; FLOPs ratio {flops_ratio:.1f}x)"
        )
    for e in comparisons.get("sdk_e2e_vs_model_ms", []):
        stages = ", ".join(f"{k} {v:.2f}" for k, v in e["stages_p50"].items())
        lines.append(
            f"- SDK end to end `{e['file']}` x{e['threads']}: {e['e2e_p50']:.2f} ms vs model only "
            f"{e['model_p50']:.3f} ms (overhead {e['overhead_p50']:.2f} ms; stage medians ms: {stages})"
        )
    return lines


def chart(results: list[dict], path: Path, title: str) -> Path:
    """Horizontal bars of median latency (log scale, p90 whisker), one per record; estimates hatched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = flatten(results)
    machines = list(dict.fromkeys(f"{r['machine']['class']}: {r['machine']['name']}" for r in rows))
    palette = plt.get_cmap("tab10").colors
    colours = {machine: palette[k % len(palette)] for k, machine in enumerate(machines)}
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.28 * len(rows)))
    for y, row in enumerate(rows):
        machine = f"{row['machine']['class']}: {row['machine']['name']}"
        p50, p90 = row["latency_ms"]["p50"], row["latency_ms"].get("p90")
        estimate = row["kind"] == "estimate"
        ax.barh(
            y,
            p50,
            color=colours[machine],
            alpha=0.45 if estimate else 0.9,
            hatch="//" if estimate else None,
            xerr=[[0], [p90 - p50]] if p90 and p90 > p50 else None,
            capsize=2,
        )
        quality = row.get("quality") or {}
        note = f"{p50:.3g} ms"
        if quality.get("gaze_error_deg") is not None:
            note += f"  gaze {quality['gaze_error_deg']:.1f}°"
            if quality.get("identity_accuracy") is not None:
                note += f", id {100 * quality['identity_accuracy']:.0f}%"
        ax.text(max(p50, p90 or 0) * 1.08, y, note + ("  (estimate)" if estimate else ""), va="center", fontsize=7)
    labels = []
    for row in rows:
        art, runtime = row["artefact"], row["runtime"]
        threads = f" x{runtime['threads']}" if runtime.get("threads") else ""
        scope = " [SDK e2e]" if row["scope"] == "sdk-e2e" else ""
        labels.append(f"{art['file']} · {runtime['name']} {runtime['accelerator']}{threads}{scope}")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("median latency per frame, ms (log scale; whisker: p90), batch 1")
    ax.set_title(title, fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[m]) for m in machines]
    ax.legend(handles, machines, loc="lower right", fontsize=7)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
