"""A result tree being written: one JSON file per finished trial, never a partial one.

Layout (one run, one machine)::

    DIR/plan.json            what was asked for (settings, dataset, trial list)
    DIR/trials/<id>.json     one finished trial each (ok, error, timeout or unsupported)
    DIR/.staging/<id>/       scratch space of a trial in progress (deleted when it ends)
"""

import os
import shutil

from bench.worker.jsonfile import write_json_atomic


class ResultTree(object):
    def __init__(self, root):
        self.root = str(root)
        self.trials = os.path.join(self.root, "trials")
        self.staging = os.path.join(self.root, ".staging")

    def path_for(self, trial_id):
        return os.path.join(self.trials, trial_id + ".json")

    def done(self, trial_id):
        return os.path.exists(self.path_for(trial_id))

    def write(self, result):
        path = self.path_for(result["spec"]["trial_id"])
        write_json_atomic(path, result)
        return path

    def write_plan(self, plan):
        write_json_atomic(os.path.join(self.root, "plan.json"), plan)

    def staging_for(self, trial_id):
        """A fresh, empty scratch folder for one trial (left-overs of a killed run removed)."""
        folder = os.path.join(self.staging, trial_id)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        return folder

    def clean_staging(self, trial_id=None):
        """Remove one trial's scratch folder, or all of them."""
        folder = self.staging if trial_id is None else os.path.join(self.staging, trial_id)
        shutil.rmtree(folder, ignore_errors=True)
