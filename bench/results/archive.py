"""A results folder packed into one file, again after every finished trial (``--archive``).

For machines that are lent for minutes and return few files: whatever stops the run, the
last archive holds every trial finished before it. The archive is written to a temporary
file and renamed into place, so it is never half-written. Weights (which the trial files
already summarise) and scratch folders stay out.
"""

import os
import tarfile
import tempfile
from pathlib import Path

from bench.errors import UserError

LEFT_OUT = ("weights", ".staging")


def pack(tree: Path, folder: Path) -> Path:
    """Write ``folder/<tree name>.tar.gz`` holding ``tree`` as ``<tree name>/...``."""
    tree, folder = Path(tree), Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{tree.name}.tar.gz"
        fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".tar.gz", dir=folder)
        with os.fdopen(fd, "wb") as stream, tarfile.open(fileobj=stream, mode="w:gz") as archive:
            archive.add(tree, arcname=tree.name, filter=_kept)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        raise UserError(f"--archive {folder}: cannot write the archive ({error.strerror or error})") from None
    return target


def packer(tree: Path, folder: Path):
    """A function of one result (ignored) that re-packs the tree: the runner's ``on_result``."""
    return lambda result=None: pack(tree, folder)


def _kept(member: tarfile.TarInfo):
    parts = Path(member.name).parts
    return None if any(part in LEFT_OUT or part.startswith(".tmp-") for part in parts[1:]) else member
