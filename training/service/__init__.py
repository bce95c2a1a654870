"""`pgz-serve`: a reference remote gaze service hosting any trained black-box estimator over HTTP (`[serve]` extra).

It stands in for the third-party gaze API that the on-device preserver protects, in the demo and in the tests. The
light SDK never imports it.

    POST /v1/gaze          {"image": "<base64 PNG or JPEG>"}       -> {"gaze": {"pitch", "yaw"}, "units": "rad",
    POST /v1/gaze/upload   multipart/form-data, file field "image"        "model": <estimator name>}
    GET  /healthz          -> {"status": "ok", "model": <estimator name>, "input_size": <pixels>}

Errors are ``{"error": {"code": ..., "message": ...}}`` with a fitting status (see `request` and `image`). Images are
decoded in memory, answered, and dropped: the service stores nothing.
"""

import importlib.util

from privategaze.errors import MissingDependencyError

for _module in ("fastapi", "uvicorn", "python_multipart"):
    if importlib.util.find_spec(_module) is None:
        raise MissingDependencyError(_module, "serve")
