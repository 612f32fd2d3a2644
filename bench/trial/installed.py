"""What is installed, found without importing it.

TF_DETERMINISTIC_OPS must be in the environment before TensorFlow is imported, and whether
it is the right switch depends on the TensorFlow version (< 2.8). So the version is read
from the installed distribution's metadata, not from ``tf.__version__``.
"""

import os
import re
import sys
from typing import Iterable, Optional, Tuple

TENSORFLOW_DISTRIBUTIONS = (
    "tensorflow", "tensorflow_cpu", "tensorflow_gpu", "tensorflow_intel",
    "tensorflow_macos", "tensorflow_aarch64", "tf_nightly", "tf_nightly_cpu",
)
_METADATA_DIR = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+?)(-py[^-]*)?\.(dist|egg)-info$")


def distribution_version(names: Iterable[str], search_path: Optional[Iterable[str]] = None) -> Optional[str]:
    """Version of the first distribution in ``names`` found on ``search_path``, or None.

    Names are compared in their normalised form (lower case, ``-`` and ``.`` as ``_``).
    """
    wanted = set(_normalise(name) for name in names)
    for entry in (sys.path if search_path is None else search_path):
        if not entry or not os.path.isdir(entry):
            continue
        try:
            children = sorted(os.listdir(entry))
        except OSError:
            continue
        for child in children:
            match = _METADATA_DIR.match(child)
            if match and _normalise(match.group("name")) in wanted:
                return match.group("version")
    return None


def tensorflow_version() -> Optional[str]:
    return distribution_version(TENSORFLOW_DISTRIBUTIONS)


def version_tuple(version: str) -> Tuple[int, ...]:
    """'2.15.0.post1' -> (2, 15, 0); '2.16.0rc0' -> (2, 16, 0)."""
    numbers = []
    for part in version.split(".")[:3]:
        digits = re.match(r"\d+", part)
        if not digits:
            break
        numbers.append(int(digits.group(0)))
    return tuple(numbers)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()
