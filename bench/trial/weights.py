"""Final weights as files, so that trials that differ can be told how far apart they are.

A trial saves each run's weights beside its result (``weights-<run>.npz``); the runner keeps
them in the result tree's store (bench.runner.weight_store) and compares them.
"""

from typing import Iterable, List, Sequence

import numpy


def save(path: str, arrays: Iterable[numpy.ndarray]) -> None:
    numpy.savez(path, *arrays)


def load(path: str) -> List[numpy.ndarray]:
    with numpy.load(path) as stored:
        return [stored["arr_%d" % index] for index in range(len(stored.files))]


def max_abs_difference(first: Sequence[numpy.ndarray], second: Sequence[numpy.ndarray]) -> float:
    """Largest |a - b| over every weight; inf where the shapes differ."""
    if len(first) != len(second) or any(a.shape != b.shape for a, b in zip(first, second)):
        return float("inf")
    return max(float(numpy.max(numpy.abs(a.astype(numpy.float64) - b.astype(numpy.float64))))
               if a.size else 0.0 for a, b in zip(first, second))
