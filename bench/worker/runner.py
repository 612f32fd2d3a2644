"""Run a plan of trials, one at a time, and keep every result.

Finished trials are skipped, so running the same plan into the same folder again resumes
it. ``execute(spec, staging)`` runs one trial (a local process, a container) and returns its
final result. Progress goes to ``say``: trial i/n, wall time, ETA, outcome.
"""

import time


class Progress(object):
    def __init__(self, total):
        self.total, self.done, self.seconds = total, 0, 0.0

    def eta(self):
        if not self.done:
            return "?"
        remaining = int(round(self.seconds / self.done * (self.total - self.done)))
        return "%d:%02d:%02d" % (remaining // 3600, remaining // 60 % 60, remaining % 60)


def run(trials, chosen_settings, dataset_spec, execute, tree, say=print):
    """Execute every trial not yet in ``tree``; returns the results written now."""
    pending = [trial for trial in trials if not tree.done(trial.trial_id)]
    if len(pending) < len(trials):
        say("resuming: %d of %d trials already done in %s" % (len(trials) - len(pending), len(trials), tree.root))
    progress = Progress(len(pending))
    written = []
    width = len(str(progress.total))
    for trial in pending:
        started = time.perf_counter()
        result = execute(trial.spec(chosen_settings, dataset_spec), tree.staging_for(trial.trial_id))
        tree.write(result)
        tree.clean_staging(trial.trial_id)
        written.append(result)
        progress.done += 1
        progress.seconds += time.perf_counter() - started
        say("[%*d/%d] %s %-10s %-5s r%d  %6.1f s  ETA %s  %s" % (
            width, progress.done, progress.total, trial.target, trial.protocol, trial.config,
            trial.repeat, result["runner"]["wall_seconds"], progress.eta(), outcome(result)))
    tree.clean_staging()
    return written


def outcome(result):
    if result["status"] == "ok":
        return "ok"
    return "%s (%s)" % (result["status"], result["error"]["type"].rsplit(".", 1)[-1])
