"""What a backend is: something that runs one trial at a time on a slot and says what it is.

Like asv's ``Environment``: the runner and the fleet know backends only through this
interface, so a new one (a scheduler, a cloud) is a new module, not branches elsewhere.
Implemented by ``local`` (a fresh process of an interpreter) and ``docker_backend`` (a
fresh container of an image); the tests add a stand-in that runs nothing.
"""

from abc import ABC, abstractmethod

from bench.runner.started import StartedTrial


class Backend(ABC):
    #: what runs trials, as results name it ("local", "docker", ...)
    name = "?"

    def __init__(self):
        #: what this backend is (interpreter or image, versions, engine, device); recorded in
        #: the ``runner`` field of every result it makes, with what the run adds
        self.info = {}

    @abstractmethod
    def start(self, spec: dict, staging: str, slot: str | None, held: bool) -> StartedTrial:
        """Start the trial ``spec`` on GPU ``slot`` (None: no GPU), with ``staging`` as its
        scratch folder, and return it; ``held``: it prepares (starts, imports its framework,
        loads its data) and then waits for its ``release``, so that it can start while another
        trial trains (an overlapped start). A backend that cannot start early returns a
        bench.runner.started.Deferred. A trial's own failure is a result; a failure of the
        machinery around it (an engine that stops answering) raises
        bench.runner.work_queue.InfrastructureError."""

    def execute(self, spec: dict, staging: str, slot: str | None, timeout: float) -> dict:
        """Run the trial ``spec`` at once, for at most ``timeout`` seconds; its final result."""
        trial = self.start(spec, staging, slot, held=False)
        trial.release(timeout)
        return trial.result()

    def probe_data(self, spec: dict, staging: str) -> dict:
        """Load the data of trial ``spec`` as its trial would (framework imported, an experiment
        file's load_data called), with ``staging`` as scratch; returns what bench.trial
        --probe-data says (train_examples, arrays_sha256, shapes). UserError, one line, where
        loading fails."""
        raise NotImplementedError

    def remove_leftovers(self) -> int:
        """Remove what an earlier runner of the same results folder left behind (its runner was
        killed before it could); returns how many. Nothing, unless the backend leaves things."""
        return 0

    def close(self) -> None:
        """Let go of what the backend holds (connections, scratch folders)."""
