"""The TensorFlow versions the suite knows, read from ``bench/data/catalog.json``.

One file holds, per TF minor version: the official GPU and CPU image tags with the OS,
Python, CUDA and cuDNN inside them; the pip requirements of a CPU install (and the Python
to install them with); the seed and determinism APIs that apply; known GPU limits; notes.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.errors import UsageError

CATALOG_FILE = Path(__file__).resolve().parent.parent / "data" / "catalog.json"
VARIANTS = ("gpu", "cpu", "cpu-pip")


@dataclass(frozen=True)
class Version:
    minor: str
    pip: tuple[str, ...]         # requirements of a CPU install, e.g. tensorflow-cpu==2.1.*
    python: str                  # Python minor a CPU install uses first (as in the official image)
    pythons: tuple[str, ...]     # every Python minor with tensorflow-cpu wheels for this version
    image: dict                  # gpu, cpu (tags), os, python, cuda, cudnn, verified
    seed_api: str
    determinism: str
    gpu_limits: dict
    notes: tuple[str, ...]

    def official_image(self, variant: str) -> str:
        return self.image["cpu" if variant == "cpu" else "gpu"]


@cache
def versions() -> dict[str, Version]:
    raw = json.loads(CATALOG_FILE.read_text())["versions"]
    return {minor: Version(minor=minor, pip=tuple(entry["pip"]), python=entry["python"],
                           pythons=tuple(entry["pythons"]),
                           image=entry["image"], seed_api=entry["seed_api"],
                           determinism=entry["determinism"], gpu_limits=entry["gpu_limits"],
                           notes=tuple(entry["notes"]))
            for minor, entry in raw.items()}


@dataclass(frozen=True)
class Stack:
    """A named environment that is not one TF version (e.g. keras3: Keras 3 and its backends)."""
    minor: str                   # its name, where a TF version has its minor version
    pip: tuple[str, ...]
    python: str
    pythons: tuple[str, ...]
    about: str


@cache
def stacks() -> dict[str, Stack]:
    raw = json.loads(CATALOG_FILE.read_text()).get("environments", {})
    return {name: Stack(name, tuple(entry["pip"]), entry["python"], tuple(entry["pythons"]), entry["about"])
            for name, entry in raw.items()}


def environment_list(text: str) -> list:
    """'2.1,2.21,keras3' or 'all' (every TF version) -> catalog entries."""
    if text.strip() == "all":
        return list(versions().values())
    return [stacks()[part.strip()] if part.strip() in stacks() else lookup(part)
            for part in text.split(",") if part.strip()]


def minor_of(version: str) -> str:
    """'2.15.1' -> '2.15'; '2.8' -> '2.8'."""
    return ".".join(version.split(".")[:2])


def lookup(version: str) -> Version:
    known = versions()
    minor = minor_of(version.strip())
    if minor not in known:
        raise UsageError(f"unknown TensorFlow version {version!r}; known: {', '.join(known)}")
    return known[minor]


def parse_list(text: str) -> list[Version]:
    """'2.1,2.8,2.21' or 'all' -> catalog entries, in the order given."""
    if text.strip() == "all":
        return list(versions().values())
    entries = [lookup(part) for part in text.split(",") if part.strip()]
    if not entries:
        raise UsageError("--tf needs at least one version, e.g. --tf 2.8,2.15")
    return entries
