"""Adapters: how a `GazeClient` speaks one gaze API's formats (see `privategaze.adapters.base` for the protocol).

`ADAPTERS` is the registry, a plain dict from the name a CLI or config file uses to the adapter class.
"""

from privategaze.adapters.base import Adapter, HttpAdapter, LocalAdapter
from privategaze.adapters.callable import CallableAdapter
from privategaze.adapters.http_json import HttpJsonAdapter, HttpJsonConfig
from privategaze.adapters.multipart import MultipartAdapter, MultipartConfig
from privategaze.adapters.response import ResponseSpec

ADAPTERS = {"http-json": HttpJsonAdapter, "multipart": MultipartAdapter, "callable": CallableAdapter}

__all__ = [
    "ADAPTERS",
    "Adapter",
    "CallableAdapter",
    "HttpAdapter",
    "HttpJsonAdapter",
    "HttpJsonConfig",
    "LocalAdapter",
    "MultipartAdapter",
    "MultipartConfig",
    "ResponseSpec",
]
