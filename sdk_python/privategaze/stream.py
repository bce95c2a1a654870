"""`LiveStream`: the live-camera mode. Frames go into a bounded queue; workers obfuscate and query; results and errors
come back on separate callbacks.

Under load the queue does not grow: when it is full, the oldest waiting frame is dropped (a live gaze cursor wants
the newest frame, not a backlog) and counted in `stats.dropped`. Each frame ends in exactly one of: `on_result`,
`on_error`, or dropped. A frame whose preserver fails goes to `on_error` and is never sent.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from privategaze.errors import ConfigError, PreserverError, PrivateGazeError, StreamError
from privategaze.pipeline import GazePipeline
from privategaze.result import GazeResult

logger = logging.getLogger(__name__)


@dataclass
class StreamStats:
    """Counts since the stream opened: every submitted frame is in exactly one of the last three once it closes."""

    submitted: int = 0
    results: int = 0
    errors: int = 0
    dropped: int = 0


class LiveStream:
    """Asynchronous gaze for a live camera.

    Args:
        pipeline: The preserver and client.
        on_result: Called with (GazeResult, timestamp_ms) from a worker thread.
        on_error: Called with (PrivateGazeError, timestamp_ms) from a worker thread; frames are never retried raw.
        max_queue: Frames waiting at most (>= 1); beyond that the oldest is dropped.
        workers: Worker threads (each runs preserver + client for one frame at a time).
    """

    def __init__(
        self,
        pipeline: GazePipeline,
        on_result: Callable[[GazeResult, int], None],
        on_error: Callable[[PrivateGazeError, int], None],
        *,
        max_queue: int = 2,
        workers: int = 1,
    ) -> None:
        if max_queue < 1 or workers < 1:
            raise ConfigError(f"max_queue and workers must be >= 1, got {max_queue} and {workers}")
        self._pipeline, self._on_result, self._on_error = pipeline, on_result, on_error
        self._queue: collections.deque[tuple[Any, int, dict]] = collections.deque()
        self._max_queue = max_queue
        self._cond = threading.Condition()
        self._closed = False
        self.stats = StreamStats()
        self._threads = [threading.Thread(target=self._work, name=f"pgz-live-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, frame: Any, timestamp_ms: int, **normalize_kwargs: Any) -> bool:
        """Queue a camera frame (with `landmarks=` or `box=`) or a normalized face (without).

        Returns False when this call pushed an older frame out of a full queue.

        Raises:
            StreamError: the stream is closed, or `timestamp_ms` does not increase.
        """
        with self._cond:
            if self._closed:
                raise StreamError("the live stream is closed")
            self._pipeline.check_timestamp(timestamp_ms)
            self.stats.submitted += 1
            dropped = len(self._queue) >= self._max_queue
            if dropped:
                self._queue.popleft()
                self.stats.dropped += 1
            # A copy: camera code often reuses one buffer for the next frame before this one is processed.
            frame = frame.copy() if isinstance(frame, np.ndarray) else frame
            self._queue.append((frame, timestamp_ms, normalize_kwargs))
            self._cond.notify()
        return not dropped

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                frame, timestamp_ms, kwargs = self._queue.popleft()
            try:
                result = self._pipeline.client.estimate(self._pipeline.obfuscate(frame, timestamp_ms, kwargs))
            except PrivateGazeError as exc:
                self._finish(self._on_error, exc, timestamp_ms, "errors")
            except Exception as exc:  # e.g. a wrong keyword: the frame still ends on the error channel, never sent
                logger.exception("unexpected error on the frame at %s ms", timestamp_ms)
                error = PreserverError(f"the frame at {timestamp_ms} ms failed: {type(exc).__name__}: {exc}")
                self._finish(self._on_error, error, timestamp_ms, "errors")
            else:
                self._finish(self._on_result, result, timestamp_ms, "results")

    def _finish(self, callback: Callable[[Any, int], None], value: Any, timestamp_ms: int, counter: str) -> None:
        with self._cond:
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        try:
            callback(value, timestamp_ms)
        except Exception:  # a failing app callback must not kill the worker and strand queued frames
            logger.exception("a live-stream callback raised")

    def close(self, timeout_s: float | None = None) -> StreamStats:
        """Stop accepting frames, finish the queued ones, join the workers; returns a copy of the final counts.

        Each queued frame takes at most the client's `ClientConfig.max_duration_s`, so without a timeout `close`
        returns; with one, workers still busy after it keep running and the returned counts are not final.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():  # close() called from a callback
                thread.join(timeout_s)
        with self._cond:
            return dataclasses.replace(self.stats)

    def __enter__(self) -> LiveStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
