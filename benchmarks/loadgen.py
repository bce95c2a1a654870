"""The load generator of `serve_load`: clients that send gaze requests back to back, and what they saw.

Each client holds one keep-alive connection and sends its next request as soon as the previous one is answered, so
`clients` is the number of requests in flight. Every answer is judged against the gaze the estimator gives on the
same pixels; latencies are measured client-side, from the request written to the response read.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
from tqdm import tqdm

from privategaze.benchmarks.latency import latency_summary

GAZE_ATOL_RAD = 1e-4  # server and reference run the same weights on the same pixels; this only absorbs float noise


@dataclass
class Tally:
    """What the clients saw: requests sent, answers received, failures by kind, latencies of the good answers."""

    sent: int = 0
    received: int = 0
    ok: int = 0
    errors: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        return self.sent - self.received


@dataclass(frozen=True)
class Payload:
    request: dict  # keyword arguments of httpx's post
    gaze_rad: np.ndarray  # what the estimator answers on these pixels


def judge(response: httpx.Response, expected: np.ndarray, model: str) -> str | None:
    """None for a correct answer, else the kind of error."""
    if response.status_code != 200:
        return f"http_{response.status_code}"
    try:
        body = response.json()
        gaze = np.array([body["gaze"]["pitch"], body["gaze"]["yaw"]], dtype=np.float64)
    except (ValueError, KeyError, TypeError):
        return "invalid_response"
    if body.get("model") != model or body.get("units") != "rad":
        return "invalid_response"
    return None if np.allclose(gaze, expected, rtol=0, atol=GAZE_ATOL_RAD) else "wrong_gaze"


async def run_client(
    url: str, payloads: list[Payload], first: int, deadline: float, model: str, tally: Tally, timeout_s: float
) -> None:
    """One client on one keep-alive connection: a request, its answer, the next, until the deadline."""
    async with httpx.AsyncClient(timeout=timeout_s, limits=httpx.Limits(max_connections=1)) as client:
        k = first
        while time.perf_counter() < deadline:
            payload = payloads[k % len(payloads)]
            k += 1
            tally.sent += 1
            start = time.perf_counter()
            try:
                response = await client.post(url, **payload.request)
            except httpx.TimeoutException:
                tally.errors["timeout"] += 1
                continue
            except httpx.HTTPError as exc:  # connection reset, protocol error, undecodable body
                tally.errors[type(exc).__name__] += 1
                continue
            latency_ms = 1000 * (time.perf_counter() - start)
            tally.received += 1
            error = judge(response, payload.gaze_rad, model)
            if error is None:
                tally.ok += 1
                tally.latencies_ms.append(latency_ms)
            else:
                tally.errors[error] += 1


async def run_load(
    url: str,
    payloads: list[Payload],
    model: str,
    clients: int,
    duration_s: float,
    timeout_s: float,
    show_progress: bool = True,
) -> tuple[Tally, float]:
    """Run `clients` clients until `duration_s` is over and every request sent is answered or timed out.

    Returns:
        The tally and the elapsed seconds, from the first request to the last answer.
    """
    tally = Tally()
    start = time.perf_counter()
    deadline = start + duration_s
    step = len(payloads) // clients or 1  # clients start at different faces
    tasks = [
        asyncio.create_task(run_client(url, payloads, i * step, deadline, model, tally, timeout_s))
        for i in range(clients)
    ]
    with tqdm(total=round(duration_s), unit="s", desc="load", disable=not show_progress) as bar:
        while not all(task.done() for task in tasks):
            await asyncio.wait(tasks, timeout=1.0)
            now = time.perf_counter()
            bar.update(min(round(now - start), bar.total) - bar.n)
            rate = f"{tally.ok / (now - start):.0f}"
            bar.set_postfix(sent=tally.sent, ok=tally.ok, errors=sum(tally.errors.values()), rps=rate)
    for task in tasks:
        task.result()  # a bug in a client surfaces here, not as a silent shortfall
    return tally, time.perf_counter() - start


def summarize(tally: Tally, elapsed_s: float) -> dict:
    """Counts, throughput of correct answers, and latency percentiles (ms) of the correct answers."""
    return {
        "sent": tally.sent,
        "received": tally.received,
        "ok": tally.ok,
        "errors": sum(tally.errors.values()),
        "errors_by_kind": dict(sorted(tally.errors.items())),
        "dropped": tally.dropped,
        "elapsed_s": round(elapsed_s, 3),
        "throughput_rps": round(tally.ok / elapsed_s, 2),
        "latency_ms": latency_summary(tally.latencies_ms),
    }
