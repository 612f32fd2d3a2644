"""Floats as results keep them: exact, comparable by their bits, and strict JSON.

A loss that became NaN or infinite is a value a trial produced, not an accident. JSON has no
literal for it (Python's ``NaN``/``Infinity`` are not JSON: other readers refuse them), so a
non-finite float is written as a string, in the fields that may hold one (histories and
weight differences, bench.trial.result)::

    "NaN"          the canonical quiet NaN (0x7ff8000000000000)
    "-NaN"         the same with its sign bit set (what x86 computes for 0 * inf)
    "Infinity", "-Infinity"
    "NaN:0x7ff4000000000001"   any other NaN, by its 64 bits

and read back to the same 64 bits. Finite floats are written with ``repr``, which
round-trips exactly. Two values are the same when their bits are (``same``): identical NaNs
are identical; 0.0 and -0.0 are not.
"""

import math
import struct
from typing import Any

_CANONICAL = {"NaN": "7ff8000000000000", "-NaN": "fff8000000000000"}
_BY_BITS = dict((bits, text) for text, bits in _CANONICAL.items())
_INFINITIES = {"Infinity": float("inf"), "-Infinity": float("-inf")}
_TAGGED = "NaN:0x"


def bits(value: float) -> str:
    """The 64 bits of a float as 16 hex digits."""
    return struct.pack(">d", value).hex()


def _from_bits(hex_digits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(hex_digits))[0]


def encode(value: Any) -> Any:
    """A float as JSON keeps it: itself where finite, else its text (see the module's doc)."""
    if not isinstance(value, float) or math.isfinite(value):
        return value
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    pattern = bits(value)
    return _BY_BITS.get(pattern, _TAGGED + pattern)


def decode(value: Any) -> float:
    """The float a JSON value stands for; ValueError where it is neither a number nor one of
    the texts ``encode`` writes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in _INFINITIES:
            return _INFINITIES[value]
        if value in _CANONICAL:
            return _from_bits(_CANONICAL[value])
        if value.startswith(_TAGGED) and len(value) == len(_TAGGED) + 16:
            try:
                found = _from_bits(value[len(_TAGGED):])
            except ValueError:
                raise ValueError("%r, which is not a number" % value)
            if math.isnan(found):
                return found
    raise ValueError("%r, which is not a number" % (value,))


def same(first: float, second: float) -> bool:
    """Whether two floats are the same value, bit for bit."""
    return bits(float(first)) == bits(float(second))


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
