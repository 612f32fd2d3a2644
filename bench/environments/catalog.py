"""The TensorFlow versions the suite knows, read from ``bench/data/catalog.json``.

One file holds, per TF minor version: the official GPU and CPU image tags with the OS,
Python, CUDA and cuDNN inside them; the pip requirements of a CPU install (and the Python
to install them with); the seed and determinism APIs that apply; what its GPU build carries
(native kernels, embedded PTX, known failures), each fact with its source; notes. From these,
``gpu_expectation`` says what a GPU of a given compute capability should see.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.errors import UsageError
from bench.runner import run_plan

CATALOG_FILE = Path(__file__).resolve().parent.parent / "data" / "catalog.json"
VARIANTS = run_plan.VARIANTS  # declared with the plan's --variant


@dataclass(frozen=True)
class Version:
    minor: str
    pip: tuple[str, ...]         # requirements of a CPU install, e.g. tensorflow-cpu==2.1.*
    python: str                  # Python minor a CPU install uses first (as in the official image)
    pythons: tuple[str, ...]     # every Python minor from 3.6 (the worker side's oldest) with tensorflow-cpu wheels
    image: dict                  # gpu, cpu (tags), os, python, cuda, cudnn, verified
    seed_api: str
    determinism: str
    gpu: dict                    # sass, ptx (compute capabilities; None: unknown), source, exceptions
    notes: tuple[str, ...]

    def official_image(self, variant: str) -> str:
        return self.image["cpu" if variant == "cpu" else "gpu"]


@cache
def versions() -> dict[str, Version]:
    raw = json.loads(CATALOG_FILE.read_text())["versions"]
    return {minor: Version(minor=minor, pip=tuple(entry["pip"]), python=entry["python"],
                           pythons=tuple(entry["pythons"]),
                           image=entry["image"], seed_api=entry["seed_api"],
                           determinism=entry["determinism"], gpu=entry["gpu"],
                           notes=tuple(entry["notes"]))
            for minor, entry in raw.items()}


# What a GPU of some compute capability should see with a TF build (gpu_expectation).
NATIVE, PTX_JIT, FAILS, UNKNOWN = "native", "ptx-jit", "fails", "unknown"


@dataclass(frozen=True)
class Expectation:
    outcome: str                 # NATIVE, PTX_JIT, FAILS or UNKNOWN
    why: str
    source: str
    verified_on_device: bool


def gpu_expectation(version: Version, compute_capability: str) -> Expectation:
    """What the official GPU build of ``version`` should do on a GPU of ``compute_capability``:
    run its own kernels (SASS of the same major, this minor or older), compile embedded PTX at
    start-up (PTX of an older or equal capability), fail (no kernel and no usable PTX, or a
    failure on record), or unknown (no source settles it). Exceptions on record come first."""
    gpu, wanted = version.gpu, _capability(compute_capability)
    for exception in gpu["exceptions"]:
        if _capability(exception["from"]) <= wanted <= _capability(exception.get("to") or "99.9"):
            return Expectation(exception["expect"], exception["why"], exception["source"], gpu["verified_on_device"])
    if gpu["sass"] is None:
        return Expectation(UNKNOWN, "which kernels this build carries is not settled", gpu["source"],
                           gpu["verified_on_device"])
    own = [cc for cc in map(_capability, gpu["sass"]) if cc[0] == wanted[0] and cc <= wanted]
    ptx = [cc for cc in map(_capability, gpu["ptx"]) if cc <= wanted]
    if own:
        outcome, why = NATIVE, f"kernels for {_shown(max(own))} run on {compute_capability}"
    elif ptx:
        outcome, why = PTX_JIT, (f"no kernels for {compute_capability}: the driver compiles the {_shown(max(ptx))} PTX "
                                 "at start-up (minutes; kept in the CUDA JIT cache)")
    else:
        outcome, why = FAILS, f"neither kernels nor PTX this GPU can use (newest: {gpu['sass'][-1]})"
    return Expectation(outcome, why, gpu["source"], gpu["verified_on_device"])


def _capability(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


def _shown(capability: tuple[int, int]) -> str:
    return "%d.%d" % capability


@cache
def architectures() -> list[dict]:
    """GPU architectures by compute capability, as the catalog lists them (with their source)."""
    return json.loads(CATALOG_FILE.read_text())["gpu_architectures"]["architectures"]


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
