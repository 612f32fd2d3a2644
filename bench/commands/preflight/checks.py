"""Before a run that must not be wasted (a borrowed GPU machine, a long matrix): check in seconds
that everything it needs is there, and say in one line what is not.

* the GPUs asked for exist (nvidia-smi);
* each framework imports in the trial interpreter, as a trial imports it, and sees a GPU
  where GPUs are asked for (a CPU-only jaxlib or torch would quietly train on the CPU);
* the dataset resolves and loads; an experiment file (--experiment) passes the checks a run
  makes before any trial, and its load_data(keras) runs in the trial interpreter, as a trial
  calls it, and returns data of the right shape;
* the results folder's file system has room.

The framework imports run side by side, each in a fresh process with a time limit.
"""

import json
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from bench.backends import worker_source
from bench.environments import datasets
from bench.errors import UserError
from bench.runner import process
from bench.trial import data as worker_data, gpus, user_experiment

IMPORT_SECONDS = 25


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)      # what was found
    missing: list[str] = field(default_factory=list)    # what stops the run


def check(python: str, frameworks: list[str], gpu_ids: list[str] | None, dataset_choice: str,
          data: str | None, out: Path, min_free_bytes: int, pythonpath: str | None = None,
          experiment: str | None = None) -> Report:
    started = time.perf_counter()
    report = Report()
    first_gpu = _gpus(gpu_ids, report)
    _frameworks(python, frameworks, first_gpu, pythonpath, report)
    if experiment:
        _experiment(python, frameworks[0], experiment, pythonpath, report)
    if not experiment or data or dataset_choice != "auto":  # else the file's own load_data is the data
        _dataset(dataset_choice, data, report)
    _disk(out, min_free_bytes, report)
    report.lines.append(f"preflight took {time.perf_counter() - started:.1f} s")
    return report


def _gpus(gpu_ids: list[str] | None, report: Report) -> str | None:
    if not gpu_ids:
        report.lines.append("GPUs: none asked for (trials run on the CPU)")
        return None
    found = gpus.query()
    if not found:
        report.missing.append("nvidia-smi finds no GPU (no driver, or not a GPU machine)")
        return None
    wanted = [gpu["index"] for gpu in found] if gpu_ids == ["all"] else gpu_ids
    for token in map(str, wanted):
        match = [gpu for gpu in found if str(gpu["index"]) == token or gpu.get("uuid") == token]
        if not match:
            report.missing.append(f"no GPU {token}: nvidia-smi finds {', '.join(str(g['index']) for g in found)}")
            continue
        gpu = match[0]
        report.lines.append(f"GPU {token}: {gpu.get('name')}, driver {gpu.get('driver')}, "
                            f"{gpu.get('memory_mib')} MiB, compute capability {gpu.get('compute_capability', '?')}")
    return str(wanted[0])


def _frameworks(python: str, frameworks: list[str], gpu: str | None, pythonpath: str | None,
                report: Report) -> None:
    worker_path = worker_source.in_cache()
    environment = process.trial_environment("none", worker_path)
    if pythonpath:
        environment["PYTHONPATH"] = f"{worker_path}:{pythonpath}"
    if gpu is not None:
        environment["CUDA_VISIBLE_DEVICES"] = gpu

    def probe(framework: str) -> tuple[str, dict | None, str]:
        try:
            done = subprocess.run([python, "-m", "bench.trial", "--probe-framework", framework], env=environment,
                                  capture_output=True, text=True, timeout=IMPORT_SECONDS)
        except subprocess.TimeoutExpired:
            return framework, None, f"import took over {IMPORT_SECONDS} s"
        except OSError as error:
            return framework, None, f"cannot start {python} ({error.strerror})"
        if done.returncode != 0:
            return framework, None, (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return framework, json.loads(done.stdout.strip().splitlines()[-1]), ""

    with ThreadPoolExecutor(max_workers=max(1, len(frameworks))) as pool:
        for framework, found, problem in pool.map(probe, frameworks):
            if found is None:
                report.missing.append(f"{framework} does not import in {python}: {problem}")
                continue
            software = found["software"]
            versions = ", ".join(f"{name} {software[name]}" for name in ("keras", "tensorflow", "jax", "torch")
                                 if software.get(name))
            stack = found.get("loaded") or {}
            native = ", ".join([f"{label} {stack[key]}" for key, label in (
                ("cuda_runtime", "CUDA runtime"), ("cuda_driver_api", "driver API"), ("cudnn", "cuDNN"),
                ("cublas", "cuBLAS")) if stack.get(key)] + stack.get("libraries", []))
            report.lines.append(f"{framework}: {versions}; sees {len(found['gpus'])} GPU(s); loaded: {native or 'nothing native of note'}")
            if gpu is not None and not found["gpus"]:
                report.missing.append(f"{framework} sees no GPU although GPU {gpu} is there (a CPU-only build?)")


def _experiment(python: str, framework: str, path: str, pythonpath: str | None, report: Report) -> None:
    """The file's own checks, then its load_data(keras) as a trial calls it."""
    try:
        described = user_experiment.describe(path)
    except ValueError as problem:
        report.missing.append(str(problem))
        return
    spec = {"framework": framework, "experiment": described, "model": described["name"],
            "dataset": worker_data.of_experiment(described)}
    with tempfile.TemporaryDirectory(prefix="repro-bench-preflight-") as scratch:
        spec_path = Path(scratch, "spec.json")
        spec_path.write_text(json.dumps(spec))
        environment = process.trial_environment("none", worker_source.in_cache())
        if pythonpath:
            environment["PYTHONPATH"] += f":{pythonpath}"
        try:
            done = subprocess.run([python, "-m", "bench.trial", "--probe-data", str(spec_path)], env=environment,
                                  capture_output=True, text=True, timeout=process.PROBE_SECONDS)
            found = process.probed(done.returncode, done.stdout, done.stderr)
        except (process.ProbeFailed, subprocess.TimeoutExpired, OSError) as problem:
            report.missing.append(f"{described['name']}: load_data(keras) failed under {framework}: {problem}")
            return
    shapes = "; ".join(f"{side} {', '.join(map(str, map(tuple, found['shapes'][side])))}" for side in ("x", "y"))
    report.lines.append(f"{described['name']}: load_data(keras) returns {found['train_examples']} examples ({shapes})")


def _dataset(choice: str, data: str | None, report: Report) -> None:
    try:
        dataset = datasets.resolve(choice, data, say=lambda message: None)
        if dataset.spec.get("path"):
            with numpy.load(dataset.spec["path"]) as arrays:
                examples = len(arrays["y_train"])
            report.lines.append(f"dataset: {dataset.spec['name']}, {examples} training examples")
        else:
            report.lines.append(f"dataset: {dataset.spec['name']} ({dataset.mount})")
    except (UserError, OSError, ValueError, KeyError) as error:
        report.missing.append(f"dataset: {error}")


def _disk(out: Path, min_free_bytes: int, report: Report) -> None:
    existing = next(path for path in [Path(out).resolve(), *Path(out).resolve().parents] if path.exists())
    free = shutil.disk_usage(existing).free
    report.lines.append(f"disk: {free / 2**30:.1f} GiB free at {existing}")
    if free < min_free_bytes:
        report.missing.append(f"only {free / 2**30:.2f} GiB free at {existing}; "
                              f"{min_free_bytes / 2**30:.1f} GiB needed")
