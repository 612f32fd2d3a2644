"""A result tree being written: one JSON file per finished trial, never a partial one.

Layout (one run, one machine)::

    DIR/plan.json            what was asked for (settings, dataset, trial list)
    DIR/plans/<target>.json  the same, per target, for in-container batches (compose)
    DIR/trials/<id>.json     one finished trial each (ok, error, timeout or unsupported)
    DIR/failed/<id>--<n>.json  earlier failed attempts of a trial run again (--retry-failed)
    DIR/traces/<id>/         a traced trial's steps and snapshots (bench diagnose)
    DIR/.staging/<id>/       scratch space of a trial in progress (deleted when it ends)
    DIR/.lock                held by the one runner writing the tree (pid, host, since)
"""

import datetime
import errno
import fcntl
import json
import os
import shutil
import signal
import socket

from bench.trial import result as result_document
from bench.trial.jsonfile import read_json, write_json_atomic

LOCK_FILE = ".lock"
WORKER_PID_FILE = "worker.pid"


class FolderBusy(RuntimeError):
    """Another runner holds the tree's lock; the message names it."""


class ResultTree(object):
    def __init__(self, root):
        self.root = str(root)
        self.trials = os.path.join(self.root, "trials")
        self.staging = os.path.join(self.root, ".staging")
        self.failed = os.path.join(self.root, "failed")
        self._lock = None

    def path_for(self, trial_id):
        return os.path.join(self.trials, trial_id + ".json")

    def done(self, trial_id):
        return os.path.exists(self.path_for(trial_id))

    def lock(self):
        """Hold the tree for this process's lifetime (the kernel lets go when it ends, however
        it ends); raises FolderBusy naming the holder where another runner has it."""
        os.makedirs(self.root, exist_ok=True)
        descriptor = os.open(os.path.join(self.root, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.read(descriptor, 4096).decode("utf-8", "replace")
            os.close(descriptor)
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise FolderBusy("%s is being written by another run (%s); wait for it to end, or choose another "
                             "--out" % (self.root, _describe_holder(holder)))
        os.ftruncate(descriptor, 0)
        os.write(descriptor, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                         "since": datetime.datetime.now().isoformat(timespec="seconds")}).encode())
        self._lock = descriptor

    def write(self, result):
        """Write a finished trial's document (checked first: a bad one is a bug, not a result),
        with the earlier failed attempts of the same trial, where there are any."""
        result_document.check(result)
        earlier = self.earlier_failures(result["spec"]["trial_id"])
        if earlier:
            result["earlier_failures"] = earlier
        path = self.path_for(result["spec"]["trial_id"])
        write_json_atomic(path, result)
        return path

    def write_plan(self, plan, name=None):
        """plan.json, or plans/<name>.json for one target of an in-container batch."""
        path = os.path.join(self.root, "plan.json") if name is None else os.path.join(self.root, "plans", name + ".json")
        write_json_atomic(path, plan)

    def retire_failed(self, trial_ids):
        """Move the error and timeout results among ``trial_ids`` to failed/, so that they run
        again; returns the ids moved. Their documents are kept and named by the new result."""
        moved = []
        for trial_id in trial_ids:
            if not self.done(trial_id):
                continue
            if read_json(self.path_for(trial_id)).get("status") not in result_document.FAILED:
                continue
            os.makedirs(self.failed, exist_ok=True)
            attempt = len(self._failed_files(trial_id)) + 1
            os.replace(self.path_for(trial_id), os.path.join(self.failed, "%s--%d.json" % (trial_id, attempt)))
            moved.append(trial_id)
        return moved

    def earlier_failures(self, trial_id):
        found = []
        for name in self._failed_files(trial_id):
            document = read_json(os.path.join(self.failed, name))
            error = document.get("error") or {}
            found.append({"file": "failed/" + name, "status": document.get("status"),
                          "error": "%s: %s" % (error.get("type"), (error.get("message") or "").strip()[:300])})
        return found

    def _failed_files(self, trial_id):
        if not os.path.isdir(self.failed):
            return []
        prefix = trial_id + "--"
        return sorted((name for name in os.listdir(self.failed)
                       if name.startswith(prefix) and name[len(prefix):-len(".json")].isdigit()),
                      key=lambda name: int(name[len(prefix):-len(".json")]))

    def keep_trace(self, staging, trial_id):
        """Move a traced trial's trace (its scratch folder's trace/) to traces/<trial id>/."""
        found = os.path.join(staging, "trace")
        if os.path.isdir(found):
            target = os.path.join(self.root, "traces", trial_id)
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.move(found, target)

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

    def stop_leftover_workers(self):
        """Kill what an earlier runner of this tree left training (its worker.pid files), so
        that no trial ever runs beside it; returns the pids stopped. Call with the lock held."""
        stopped = []
        if not os.path.isdir(self.staging):
            return stopped
        for trial_id in os.listdir(self.staging):
            pid_file = os.path.join(self.staging, trial_id, WORKER_PID_FILE)
            try:
                with open(pid_file) as stream:
                    pid = int(stream.read().strip())
            except (OSError, ValueError):
                continue
            if _runs_in(pid, os.path.join(self.staging, trial_id)):
                try:
                    os.killpg(pid, signal.SIGKILL)  # the worker leads a session of its own
                    stopped.append(pid)
                except OSError:
                    pass
        return stopped


def _runs_in(pid, folder):
    """Whether process ``pid`` is a worker of the trial in ``folder`` (its command names it)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as stream:
            command = stream.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return False
    return any(part.startswith(folder) for part in command)


def _describe_holder(text):
    try:
        holder = json.loads(text)
        return "pid %s on %s, since %s" % (holder["pid"], holder["host"], holder["since"])
    except (ValueError, KeyError, TypeError):
        return "holder unknown"
