"""The one digest of arrays used for data and for weights: dtype, shape and bytes, in order."""

import hashlib

import numpy


def arrays_sha256(arrays):
    hasher = hashlib.sha256()
    for array in arrays:
        array = numpy.ascontiguousarray(array)
        hasher.update(("%s%s" % (array.dtype.str, array.shape)).encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()
