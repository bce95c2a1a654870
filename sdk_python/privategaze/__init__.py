"""PrivateGaze: an on-device privacy preserver in front of any remote gaze-estimation API.

    from privategaze import Preserver, GazeClient, GazePipeline
    from privategaze.adapters import HttpJsonAdapter, HttpJsonConfig

    preserver = Preserver("mobile-w8-48px-for-blackbox-resnet18.int8.tflite")
    with GazeClient(HttpJsonAdapter(HttpJsonConfig(url="https://gaze.example.com/v1/gaze"))) as client:
        result = GazePipeline(preserver, client).estimate_frame(frame, landmarks=landmarks)

The client sends only `ObfuscatedImage`s, which only a `Preserver` makes: raw frames never leave the device.

`import privategaze` is the light runtime: numpy, pillow, httpx, and onnxruntime or the LiteRT interpreter when a
model is loaded; it never imports torch, onnx, coremltools or litert-torch. Training lives in `privategaze.training`
and export in `privategaze.export`; both need extras (`pip install privategaze[train]`, `[export]`).
"""

from privategaze.client import AsyncGazeClient, ClientConfig, GazeClient, RetryPolicy
from privategaze.errors import PrivateGazeError
from privategaze.obfuscated import ObfuscatedImage
from privategaze.pipeline import GazePipeline
from privategaze.preserver import Preserver
from privategaze.result import GazeResult
from privategaze.stream import LiveStream

__version__ = "0.1.0"

__all__ = [
    "AsyncGazeClient",
    "ClientConfig",
    "GazeClient",
    "GazePipeline",
    "GazeResult",
    "LiveStream",
    "ObfuscatedImage",
    "Preserver",
    "PrivateGazeError",
    "RetryPolicy",
    "__version__",
]
