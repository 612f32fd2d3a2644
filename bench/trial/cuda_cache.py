"""The CUDA JIT cache a trial starts with: where it is, how big, and how full.

A framework build without kernels for the GPU at hand (TF 2.4-2.11 on Hopper, and more on
Ampere) makes the driver compile PTX when the process starts, which can take many minutes.
The driver keeps what it compiled in CUDA_CACHE_PATH, up to CUDA_CACHE_MAXSIZE bytes (the
default is far too small for TensorFlow), so a cache that persists from one trial to the
next pays that cost once. The host sets both variables for GPU trials; the worker records
the cache's size before and after, so that a cold start is visible in the results.
"""

import os
from typing import Dict, Optional, Union

VARIABLES = ("CUDA_CACHE_PATH", "CUDA_CACHE_MAXSIZE", "CUDA_CACHE_DISABLE")
# The largest size the driver accepts (4 GiB).
MAXSIZE = 4294967296


def settings(path: Union[str, os.PathLike]) -> Dict[str, str]:
    """The environment that keeps a trial's compiled kernels in ``path``."""
    return {"CUDA_CACHE_PATH": str(path), "CUDA_CACHE_MAXSIZE": str(MAXSIZE)}


def state() -> Optional[Dict[str, int]]:
    """Files and bytes in CUDA_CACHE_PATH, or None where the variable is not set."""
    path = os.environ.get("CUDA_CACHE_PATH")
    if not path:
        return None
    files = size = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                size += os.path.getsize(os.path.join(folder, name))
                files += 1
            except OSError:  # removed while we looked
                pass
    return {"files": files, "bytes": size}


def record(before: Optional[Dict[str, int]], after: Optional[Dict[str, int]]) -> Optional[dict]:
    """A result's ``cuda_cache``: path, size limit, state before and after the trial, and
    whether this trial filled an empty cache (it compiled PTX: a cold start)."""
    if before is None:
        return None
    return {"path": os.environ.get("CUDA_CACHE_PATH"), "maxsize": os.environ.get("CUDA_CACHE_MAXSIZE"),
            "before": before, "after": after,
            "cold": before["bytes"] == 0 and after is not None and after["bytes"] > 0}
