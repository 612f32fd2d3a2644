"""What a run needs, checked before any trial starts: a setting that would fail every trial,
or a folder that cannot be written, is one line and a non-zero exit, not a table of errors."""

import errno
import os
import re
import stat
from pathlib import Path

from bench.errors import UsageError, UserError
from bench.runner.process import CONTROLLED

# numpy.random.seed takes 0 <= seed < 2**32, and every framework seeds NumPy.
SEED_RANGE = (0, 2**32 - 1)
# Docker's memory sizes: a number with an optional unit.
MEMORY = re.compile(r"^\d+[bkmg]?$", re.IGNORECASE)
# validation_split=0.2 must leave at least one example on each side.
FEWEST_SAMPLES = 5


def static(arguments) -> None:
    """Settings that are wrong whatever the machine."""
    if not SEED_RANGE[0] <= arguments.seed <= SEED_RANGE[1]:
        raise UsageError(f"--seed {arguments.seed}: seeds go from {SEED_RANGE[0]} to {SEED_RANGE[1]} "
                         "(NumPy's range, which every framework seeds)")
    if arguments.samples is not None and arguments.samples < FEWEST_SAMPLES:
        raise UsageError(f"--samples {arguments.samples}: at least {FEWEST_SAMPLES}, so that validation_split=0.2 "
                         "leaves examples to train and to validate on")
    if getattr(arguments, "memory", None) and not MEMORY.match(arguments.memory):
        raise UsageError(f"--memory {arguments.memory}: give a size such as 512m or 8g")
    controlled = [name for name in arguments.inherit_env if name in CONTROLLED]
    if controlled:
        raise UsageError(f"--inherit-env {', '.join(controlled)}: the configurations set "
                         f"{'it' if len(controlled) == 1 else 'them'} themselves")
    for name in arguments.inherit_env:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise UsageError(f"--inherit-env {name!r}: not a variable name")
    experiment = getattr(arguments, "experiment", None)
    if experiment and getattr(arguments, "backend", "local") == "docker" and \
            not os.stat(experiment).st_mode & stat.S_IROTH:
        raise UsageError(f"--experiment {experiment} is not readable by other users, so the container's "
                         f"unprivileged user cannot read it: chmod a+r {experiment}")
    if arguments.tf is not None:
        listed = [part.strip() for part in arguments.tf.split(",") if part.strip()]
        if len(set(listed)) < len(listed):
            raise UsageError(f"--tf names a version twice: {arguments.tf}")


def fits_dataset(arguments, dataset) -> None:
    """--samples within what the dataset holds (the examples were counted when it was resolved)."""
    size = dataset.examples
    if arguments.samples is not None and size is not None and arguments.samples > size:
        raise UsageError(f"--samples {arguments.samples}: {dataset.spec['name']} holds {size} training examples; "
                         f"ask for {size} or fewer")


def fits_data(arguments, dataset, probe) -> None:
    """--samples within data that only loading can count (an experiment file's load_data):
    ``probe()`` loads them once, as the trials will, before any trial. Where loading fails,
    the trials go on and each records the failure with its traceback (an error row), as
    without --samples."""
    if arguments.samples is None or dataset.examples is not None:
        return  # nothing asked, or counted already (fits_dataset)
    try:
        size = probe()["train_examples"]
    except Exception:  # the user's load_data, an import, a container: the trials say it in full
        return
    if arguments.samples > size:
        raise UsageError(f"--samples {arguments.samples}: {dataset.spec['name']} returns {size} training examples; "
                         f"ask for {size} or fewer")


def writable(folder: Path, action) -> None:
    """Do ``action`` (which writes into ``folder``); an unwritable or full file system is one
    line naming the folder and what to do."""
    try:
        action()
    except OSError as error:
        raise UserError(cannot_write(folder, error)) from None


def cannot_write(folder: Path, error: OSError) -> str:
    reason = {errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
              errno.EPERM: "permission denied", errno.ENOSPC: "no space left on the device",
              errno.EDQUOT: "the disk quota is exceeded"}.get(error.errno, error.strerror or str(error))
    return f"cannot write the results folder {folder} ({reason}); choose another --out or make room"
