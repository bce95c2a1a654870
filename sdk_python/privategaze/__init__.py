"""PrivateGaze: an on-device privacy preserver in front of any remote gaze-estimation API.

`import privategaze` is the light runtime: it needs numpy, pillow, onnxruntime and httpx at most, and never imports
torch, onnx, coremltools or litert at import time. Training lives in `privategaze.training` and export in
`privategaze.export`; both need extras (`pip install privategaze[train]`, `[export]`).
"""

from privategaze.errors import PrivateGazeError

__version__ = "0.1.0"

__all__ = ["PrivateGazeError", "__version__"]
