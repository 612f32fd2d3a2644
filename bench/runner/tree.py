"""A result tree being written: one JSON file per finished trial, never a partial one.

Layout (one run, one machine)::

    DIR/plan.json            what was asked for (settings, dataset, trial list)
    DIR/plans/<target>.json  the same, per target, for in-container batches (compose)
    DIR/experiment/<sha256>/<name>  the experiment file the trials execute, frozen at plan time
    DIR/trials/<id>.json     one finished trial each (ok, error, timeout or unsupported)
    DIR/failed/<id>--<n>.json  earlier failed attempts of a trial run again (--retry-failed)
    DIR/damaged/<id>--<n>.json  trial files found damaged or changed when the run resumed (kept)
    DIR/traces/<id>/         a traced trial's steps and snapshots (bench diagnose)
    DIR/weights/<sha256>.npz final weights per distinct outcome (bench.runner.weight_store)
    DIR/manifest.json        sha256 of every recorded file (bench.runner.manifest)
    DIR/.staging/<id>/       scratch space of a trial in progress (deleted when it ends)
    DIR/.lock                held by the one runner writing the tree (pid, host, since)
"""

import datetime
import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
from typing import Iterable, List, Optional, Tuple, Union

from bench.runner import leftovers
from bench.runner.manifest import FILE as MANIFEST, Manifest, sha256_of
from bench.trial import result as result_document, result_file
from bench.trial.jsonfile import write_json_atomic

LOCK_FILE = ".lock"
WORKER_PID_FILE = "worker.pid"
EXPERIMENT = "experiment"
DAMAGED = "damaged"


class FolderBusy(RuntimeError):
    """Another runner holds the tree's lock; the message names it."""


class ResultTree(object):
    def __init__(self, root: Union[str, os.PathLike]) -> None:
        self.root = str(root)
        self.trials = os.path.join(self.root, "trials")
        self.staging = os.path.join(self.root, ".staging")
        self.failed = os.path.join(self.root, "failed")
        self.damaged = os.path.join(self.root, DAMAGED)
        self._lock: Optional[int] = None
        self.manifest: Optional[Manifest] = None  # read once the lock is held

    def path_for(self, trial_id: str) -> str:
        return os.path.join(self.trials, trial_id + ".json")

    def done(self, trial_id: str) -> bool:
        return os.path.exists(self.path_for(trial_id))

    def lock(self) -> None:
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
        self.manifest = Manifest(self.root)

    def record(self, *paths: str) -> None:
        """Record files the run wrote (relative to the tree) in its manifest."""
        if self.manifest is not None:
            self.manifest.update(paths)

    def write(self, result: dict) -> str:
        """Write a finished trial's document (checked first: a bad one is a bug, not a result),
        with the earlier failed or damaged files of the same trial, where there are any, and
        record it (and its trace) in the manifest."""
        result_document.check(result)
        trial_id = result["spec"]["trial_id"]
        earlier = self.earlier_failures(trial_id)
        if earlier:
            result["earlier_failures"] = earlier
        replaced = [{"file": DAMAGED + "/" + name} for name in _numbered(self.damaged, trial_id)]
        if replaced:
            result["replaces_damaged"] = replaced
        path = self.path_for(trial_id)
        result_file.write(path, result)
        self.record("trials/%s.json" % trial_id, "traces/" + trial_id)
        return path

    def write_plan(self, plan: dict, name: Optional[str] = None) -> None:
        """plan.json, or plans/<name>.json for one target of an in-container batch."""
        relative = "plan.json" if name is None else "plans/%s.json" % name
        write_json_atomic(os.path.join(self.root, relative), plan)
        self.record(relative)

    def freeze_experiment(self, description: dict) -> dict:
        """Copy an experiment file into the tree, under its sha256, once: every trial executes
        that copy, so editing the original never changes a running plan, and the folder holds
        the code it ran. Returns the description with ``path`` at the copy and ``source`` at
        the original; ValueError where the original no longer hashes to the description (it
        changed after it was read) and the folder holds no copy."""
        relative = "%s/%s/%s" % (EXPERIMENT, description["sha256"], description["name"])
        frozen = os.path.join(self.root, relative)
        if not (os.path.isfile(frozen) and sha256_of(frozen) == description["sha256"]):
            source = description.get("source") or description["path"]
            with open(source, "rb") as stream:
                content = stream.read()
            if hashlib.sha256(content).hexdigest() != description["sha256"]:
                raise ValueError("%s changed while the run was being planned; run again" % source)
            os.makedirs(os.path.dirname(frozen), exist_ok=True)
            temporary = frozen + ".tmp-%d" % os.getpid()
            with open(temporary, "wb") as stream:
                stream.write(content)
            os.chmod(temporary, 0o444)  # read by containers' unprivileged users too; never edited
            os.replace(temporary, frozen)
            self.record(relative)
        frozen_description = dict(description, path=os.path.abspath(frozen))
        frozen_description.setdefault("source", description["path"])
        return frozen_description

    def retire_failed(self, trial_ids: Iterable[str]) -> List[str]:
        """Move the error and timeout results among ``trial_ids`` to failed/, so that they run
        again; returns the ids moved. Their documents are kept and named by the new result."""
        moved = []
        for trial_id in trial_ids:
            if not self.done(trial_id):
                continue
            if result_file.read(self.path_for(trial_id)).get("status") not in result_document.FAILED:
                continue
            attempt = len(_numbered(self.failed, trial_id)) + 1
            self._move(self.path_for(trial_id), os.path.join(self.failed, "%s--%d.json" % (trial_id, attempt)))
            moved.append(trial_id)
        return moved

    def set_aside_damaged(self) -> List[Tuple[str, str]]:
        """Move trial files that cannot be read as valid results, that hold another trial than
        their name says, or that changed after the run recorded them, to damaged/ (kept, never
        deleted), so that their trials run again; returns (file, why) for each."""
        found = []
        if self.manifest is not None and self.manifest.damaged:
            attempt = len(_numbered(self.damaged, "manifest")) + 1
            os.makedirs(self.damaged, exist_ok=True)
            os.replace(os.path.join(self.root, MANIFEST), os.path.join(self.damaged, "manifest--%d.json" % attempt))
            found.append((MANIFEST, "%s; the files recorded before cannot be verified" % self.manifest.damaged))
            self.manifest.damaged = None
        if not os.path.isdir(self.trials):
            return found
        for name in sorted(os.listdir(self.trials)):
            if not name.endswith(".json") or name.startswith(".tmp-"):
                continue
            path, trial_id = os.path.join(self.trials, name), name[:-len(".json")]
            why = None
            try:
                document = result_file.read(path)
                if document["spec"]["trial_id"] != trial_id:
                    why = "it holds trial %s" % document["spec"]["trial_id"]
                elif self.manifest is not None and self.manifest.changed("trials/" + name):
                    why = "it changed after the run recorded it (manifest.json)"
            except (ValueError, OSError) as error:
                why = str(error)
            if why is not None:
                attempt = len(_numbered(self.damaged, trial_id)) + 1
                self._move(path, os.path.join(self.damaged, "%s--%d.json" % (trial_id, attempt)))
                found.append(("trials/" + name, why))
        return found

    def _move(self, source: str, target: str) -> None:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(source, target)
        self.record(os.path.relpath(source, self.root), os.path.relpath(target, self.root))

    def earlier_failures(self, trial_id: str) -> List[dict]:
        found = []
        for name in _numbered(self.failed, trial_id):
            try:
                document = result_file.read(os.path.join(self.failed, name))
                error = document.get("error") or {}
                text = "%s: %s" % (error.get("type"), (error.get("message") or "").strip()[:300])
                status = document.get("status")
            except (ValueError, OSError) as problem:  # kept as it is; named, not read
                status, text = None, "unreadable: %s" % problem
            found.append({"file": "failed/" + name, "status": status, "error": text})
        return found

    def keep_trace(self, staging: str, trial_id: str) -> None:
        """Move a traced trial's trace (its scratch folder's trace/) to traces/<trial id>/
        (recorded with the trial's file)."""
        found = os.path.join(staging, "trace")
        if os.path.isdir(found):
            target = os.path.join(self.root, "traces", trial_id)
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.move(found, target)

    def staging_for(self, trial_id: str) -> str:
        """A fresh, empty scratch folder for one trial (left-overs of a killed run removed)."""
        folder = os.path.join(self.staging, trial_id)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        return folder

    def clean_staging(self, trial_id: Optional[str] = None) -> None:
        """Remove one trial's scratch folder, or all of them."""
        folder = self.staging if trial_id is None else os.path.join(self.staging, trial_id)
        shutil.rmtree(folder, ignore_errors=True)

    def stop_leftover_workers(self) -> List[int]:
        """Kill what earlier runners of this tree left running, so that nothing ever runs
        beside this run: a worker still training (its worker.pid: its whole process group),
        and any process a trial started that outlived it (bench.runner.leftovers); returns the
        pids stopped. Call with the lock held."""
        stopped = []
        if os.path.isdir(self.staging):
            for trial_id in os.listdir(self.staging):
                pid_file = os.path.join(self.staging, trial_id, WORKER_PID_FILE)
                try:
                    with open(pid_file) as stream:
                        pid = int(stream.read().strip())
                except (OSError, ValueError):
                    continue
                if _runs_in(pid, os.path.join(self.staging, trial_id)) and leftovers.kill_group(pid):
                    stopped.append(pid)  # the worker leads a group of its own
        return stopped + [pid for pid in leftovers.stop(self.staging) if pid not in stopped]


def _numbered(folder: str, trial_id: str) -> List[str]:
    """The files ``<trial id>--<n>.json`` in ``folder``, by n."""
    if not os.path.isdir(folder):
        return []
    prefix = trial_id + "--"
    return sorted((name for name in os.listdir(folder)
                   if name.startswith(prefix) and name.endswith(".json") and name[len(prefix):-len(".json")].isdigit()),
                  key=lambda name: int(name[len(prefix):-len(".json")]))


def _runs_in(pid: int, folder: str) -> bool:
    """Whether process ``pid`` is a worker of the trial in ``folder`` (its command names it)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as stream:
            command = stream.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return False
    return any(part.startswith(folder) for part in command)


def _describe_holder(text: str) -> str:
    try:
        holder = json.loads(text)
        return "pid %s on %s, since %s" % (holder["pid"], holder["host"], holder["since"])
    except (ValueError, KeyError, TypeError):
        return "holder unknown"
