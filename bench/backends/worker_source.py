"""The worker side as files: what a trial process or a container image gets, and its digest.

Only ``bench/__init__.py``, ``bench/trial/`` (with its shipped experiment files) and
``bench/runner/`` travel, so a trial
interpreter (perhaps Python 3.6 in another virtual environment) never sees the host's packages.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from bench.environments import cache

PACKAGE = Path(__file__).resolve().parent.parent
WORKER_PACKAGES = ("trial", "trial/experiments", "runner")


def files() -> list[Path]:
    """Worker-side source files, relative to the folder that holds ``bench/``."""
    sources = [PACKAGE / "__init__.py",
               *(source for package in WORKER_PACKAGES for source in sorted((PACKAGE / package).glob("*.py")))]
    return [source.relative_to(PACKAGE.parent) for source in sources]


def digest() -> str:
    hasher = hashlib.sha256()
    for relative in files():
        hasher.update(str(relative).encode() + b"\0")
        hasher.update((PACKAGE.parent / relative).read_bytes())
    return hasher.hexdigest()


def copy_to(folder: Path) -> Path:
    """Copy the worker side under ``folder`` (which then goes on PYTHONPATH); returns it."""
    for relative in files():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE.parent / relative, target)
    return folder


def in_cache() -> Path:
    """The worker side in the suite's cache, one folder per digest (made once, atomically):
    what a trial process imports. Never a temporary folder, which a runner killed outright
    would leave behind."""
    folder = cache.home() / "worker" / digest()[:16]
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        copy_to(building)
        try:
            os.rename(building, folder)
        except OSError:  # another run made it first: theirs is the same
            shutil.rmtree(building, ignore_errors=True)
    return folder
