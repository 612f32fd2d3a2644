"""The result tree's store of final weights: one file per distinct outcome, so that trials
that differ can be told how far apart they are.

The runner moves each run's weights (saved by the trial beside its result) into
``DIR/weights/<sha256>.npz`` and records, for every earlier trial of the same cell whose
weights differ, the largest absolute difference. The store may be deleted after the run:
the differences are in the trial files. A stored file that does not load, or whose arrays
do not hash to its name (damaged, edited), counts as absent and is replaced when the same
outcome comes again.
"""

import os
import shutil
from typing import Any, Dict, Iterable, List, Optional, Union

from bench.trial.digests import arrays_sha256
from bench.trial.weights import load, max_abs_difference


class WeightStore(object):
    def __init__(self, root: Union[str, os.PathLike]) -> None:
        self.root = os.path.join(str(root), "weights")

    def path_for(self, digest: str) -> str:
        return os.path.join(self.root, digest + ".npz")

    def adopt(self, file: str, digest: str) -> Optional[str]:
        """Move a run's weights file into the store (kept once per digest)."""
        if not os.path.exists(file):
            return None
        os.makedirs(self.root, exist_ok=True)
        target = self.path_for(digest)
        if self.read(digest) is not None:
            os.unlink(file)
        else:
            shutil.move(file, target)
        return target

    def read(self, digest: str) -> Optional[List[Any]]:
        """The stored arrays of an outcome, or None where they are absent or not what their
        name says."""
        try:
            arrays = load(self.path_for(digest))
        except Exception:  # absent, or not an npz any more (numpy and zipfile raise several kinds)
            return None
        return arrays if arrays_sha256(arrays) == digest else None

    def differences(self, digest: str, others: Iterable[str]) -> Dict[str, float]:
        """{other digest: largest |a - b| to ``digest``} for the others that differ from it and
        are stored; each outcome is read once, however many trials share it."""
        weights = self.read(digest)
        if weights is None:
            return {}
        found = {}
        for other in set(others) - {digest}:
            stored = self.read(other)
            if stored is not None:
                found[other] = max_abs_difference(weights, stored)
        return found
