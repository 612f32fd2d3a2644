"""Python interpreters on this machine, by minor version: pyenv's, then python3.X on PATH."""

import os
import re
import shutil
import subprocess
from pathlib import Path

_VERSION_DIR = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def found() -> dict[str, str]:
    """Minor version ('3.6') -> interpreter path; for each minor the first place wins."""
    interpreters: dict[str, str] = {}
    for minor, path in _pyenv():
        interpreters.setdefault(minor, path)
    for minor, path in _on_path(skip=set(interpreters)):
        interpreters.setdefault(minor, path)
    return dict(sorted(interpreters.items(), key=lambda item: tuple(map(int, item[0].split(".")))))


def version_of(python: str) -> str | None:
    """'3.6' for a Python 3.6 interpreter, None if it cannot be run."""
    try:
        done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _pyenv() -> list[tuple[str, str]]:
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    versions = Path(root or Path.home() / ".pyenv") / "versions"
    found = []
    if versions.is_dir():
        for folder in sorted(versions.iterdir(), key=lambda p: _sort_key(p.name), reverse=True):
            match = _VERSION_DIR.match(folder.name)
            python = folder / "bin" / "python"
            if match and python.exists():
                found.append((f"{match.group(1)}.{match.group(2)}", str(python)))
    return found


def _on_path(skip: set[str]) -> list[tuple[str, str]]:
    found = []
    for minor in range(6, 20):
        if f"3.{minor}" in skip:
            continue
        python = shutil.which(f"python3.{minor}")
        # pyenv's shims answer for every version but run only the selected ones: check.
        if python and version_of(python) == f"3.{minor}":
            found.append((f"3.{minor}", python))
    return found


def _sort_key(name: str) -> tuple:
    match = _VERSION_DIR.match(name)
    return tuple(map(int, match.groups())) if match else ()
