"""The one digest of arrays used for data and for weights: dtype, shape and bytes, in order."""

import hashlib
from typing import Iterable

import numpy


def arrays_sha256(arrays: Iterable[numpy.ndarray]) -> str:
    hasher = hashlib.sha256()
    for array in arrays:
        array = numpy.ascontiguousarray(array)
        hasher.update(("%s%s" % (array.dtype.str, array.shape)).encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()
