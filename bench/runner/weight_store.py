"""The result tree's store of final weights: one file per distinct outcome, so that trials
that differ can be told how far apart they are.

The runner moves each run's weights (saved by the trial beside its result) into
``DIR/weights/<sha256>.npz`` and records, for every earlier trial of the same cell whose
weights differ, the largest absolute difference. The store may be deleted after the run:
the differences are in the trial files.
"""

import os
import shutil

from bench.trial.weights import load, max_abs_difference


class WeightStore(object):
    def __init__(self, root):
        self.root = os.path.join(str(root), "weights")

    def path_for(self, digest):
        return os.path.join(self.root, digest + ".npz")

    def adopt(self, file, digest):
        """Move a run's weights file into the store (kept once per digest)."""
        if not os.path.exists(file):
            return None
        os.makedirs(self.root, exist_ok=True)
        target = self.path_for(digest)
        if os.path.exists(target):
            os.unlink(file)
        else:
            shutil.move(file, target)
        return target

    def differences(self, digest, others):
        """{other digest: largest |a - b| to ``digest``} for the others that differ from it and
        are stored; each outcome is read once, however many trials share it."""
        path = self.path_for(digest)
        if not os.path.exists(path):
            return {}
        found, weights = {}, None
        for other in set(others) - {digest}:
            if os.path.exists(self.path_for(other)):
                weights = load(path) if weights is None else weights
                found[other] = max_abs_difference(weights, load(self.path_for(other)))
        return found
