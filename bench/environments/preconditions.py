"""What a run needs, checked before any trial starts: a setting that would fail every trial,
or a folder that cannot be written, is one line and a non-zero exit, not a table of errors."""

import errno
import os
import re
import stat
from pathlib import Path

from bench.errors import UsageError, UserError

# Docker's memory sizes: a number with an optional unit.
MEMORY = re.compile(r"^\d+[bkmg]?$", re.IGNORECASE)


def static(chosen, session=None) -> None:
    """What a plan (and its session) needs of this machine before anything is prepared; the
    plan's own checks ran when it was built (bench.runner.run_plan)."""
    memory = getattr(session, "memory", None)
    if memory and not MEMORY.match(memory):
        raise UsageError(f"--memory {memory}: give a size such as 512m or 8g")
    experiment = chosen.experiment
    if experiment and chosen.backend == "docker" and not os.stat(experiment).st_mode & stat.S_IROTH:
        raise UsageError(f"--experiment {experiment} is not readable by other users, so the container's "
                         f"unprivileged user cannot read it: chmod a+r {experiment}")


def fits_dataset(chosen, dataset) -> None:
    """--samples within what the dataset holds (the examples were counted when it was resolved)."""
    size = dataset.examples
    if chosen.samples is not None and size is not None and chosen.samples > size:
        raise UsageError(f"--samples {chosen.samples}: {dataset.spec['name']} holds {size} training examples; "
                         f"ask for {size} or fewer")


def fits_data(chosen, dataset, probe) -> None:
    """--samples within data that only loading can count (an experiment file's load_data):
    ``probe()`` loads them once, as the trials will, before any trial. Where loading fails,
    the trials go on and each records the failure with its traceback (an error row), as
    without --samples."""
    if chosen.samples is None or dataset.examples is not None:
        return  # nothing asked, or counted already (fits_dataset)
    try:
        size = probe()["train_examples"]
    except Exception:  # the user's load_data, an import, a container: the trials say it in full
        return
    if chosen.samples > size:
        raise UsageError(f"--samples {chosen.samples}: {dataset.spec['name']} returns {size} training examples; "
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
