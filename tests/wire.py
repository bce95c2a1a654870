"""What goes over the wire: a raw TCP server on 127.0.0.1 that records every byte, and a decoder of the images in
the requests it captured. Shared by the egress and CLI tests."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import threading

import numpy as np
from PIL import Image

ANSWER = b'{"gaze": {"pitch": 0.1, "yaw": -0.2}}'


class CaptureServer:
    """A raw TCP server on 127.0.0.1 that records every byte it receives and answers each HTTP request.

    `statuses` is consumed one per request (default 200), to inject failures that make the client retry.
    """

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received = bytearray()
        self.requests: list[bytes] = []
        self.statuses = list(statuses or [])
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1/gaze"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        buffer = b""
        with connection:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    self.received += chunk
                    buffer += chunk
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = int(re.search(rb"content-length: *(\d+)", head, re.IGNORECASE).group(1))
                while len(rest) < length:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    self.received += chunk
                    rest += chunk
                self.requests.append(head + b"\r\n\r\n" + rest[:length])
                buffer = rest[length:]
                status = self.statuses.pop(0) if self.statuses else 200
                body = ANSWER if status == 200 else b'{"error": "injected"}'
                reason = b"OK" if status == 200 else b"Error"
                connection.sendall(
                    b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (status, reason, len(body), body)
                )

    def close(self) -> None:
        self._sock.close()


def images_in(request: bytes) -> list[np.ndarray]:
    """Every image carried by one captured HTTP request (JSON base64 field or multipart file), decoded."""
    head, _, body = request.partition(b"\r\n\r\n")
    encoded = []
    if b"content-type: application/json" in head.lower():
        encoded.append(base64.b64decode(json.loads(body)["image"].split(",")[-1]))
    else:
        for part in body.split(b"\r\n--"):
            headers, _, content = part.partition(b"\r\n\r\n")
            if b'name="image"' in headers:
                encoded.append(content.rsplit(b"\r\n", 1)[0] if content.endswith(b"\r\n") else content)
    return [np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) for data in encoded]
