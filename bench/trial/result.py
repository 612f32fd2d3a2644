"""The trial-result document: built here, checked here, on write as on read.

One file per trial (``trials/<trial id>.json``); every way of running trials writes it
through ``new``/``failure`` and ``bench.runner.tree``, which refuses a document that
``problems`` finds fault with, and every reader reads it back through the same ``problems``
(bench.trial.result_file: strict JSON, older schemas upgraded by bench.trial.upgrade).
Fields::

    schema_version  SCHEMA_VERSION
    spec            what was asked (trial_id, config, protocol, seed, framework, model,
                    epochs, samples, batch_size, validation_split, dataset, ...)
    status          ok | error | timeout | unsupported
    error           None when ok, else {type, message[, traceback]}
    mechanism       the controls applied (bench.trial.controls)
    runs            per run: history, weights_sha256, epoch_seconds, fit_seconds, ...
    experiment_executed  {path, sha256} of the experiment file's bytes the trial ran (user files)
    dataset, timing, software, machine, device, environment, cuda_cache, runner, ...

Histories and weight differences may hold non-finite floats: the file keeps them as text
(bench.trial.floats), ``encoded``/``decoded`` convert.
"""

import math
import numbers
import re
from typing import Any, Callable, Iterable, List

from bench.trial import controls, floats
from bench.trial.configurations import CONFIGS
from bench.trial.frameworks import FRAMEWORKS

# --jit-compile, as bench.trial.experiment applies it: auto (what compile() chose), on, off.
JIT_SETTINGS = ("auto", "on", "off")

# Bump on any incompatible change of the fields, and teach bench.trial.upgrade the older one.
# 1: mechanism as lines of prose. 2: mechanism as structured entries (bench.trial.controls).
# 3: non-finite floats as text (bench.trial.floats); experiment_executed.
SCHEMA_VERSION = 3
SHA256 = re.compile(r"^[0-9a-f]{64}$")
STATUSES = ("ok", "error", "timeout", "unsupported", "refused")
# How many times one trial trains: a fresh process once; the article's loop twice in one process.
PROTOCOL_RUNS = {"process": 1, "in-process": 2}
FAILED = ("error", "timeout")      # what a trial's own failure is called (unsupported, refused are outcomes)
DEVICE_KINDS = ("cpu", "gpu")


def new(spec: dict) -> dict:
    """A document for a trial about to run (status ok until something fails)."""
    return {"schema_version": SCHEMA_VERSION, "spec": spec, "status": "ok", "error": None, "mechanism": [],
            "runs": [], "dataset": None, "timing": {}, "software": {}, "machine": {}, "device": None,
            "environment": {}}


def failure(spec: dict, status: str, error_type: str, message: str) -> dict:
    """A document for a trial whose worker left none (or could not run at all)."""
    document = new(spec)
    document.update(status=status, error={"type": error_type, "message": message})
    return document


def encoded(document: dict) -> dict:
    """The document as its file holds it: non-finite floats as text (bench.trial.floats)."""
    return _convert(document, floats.encode)


def decoded(document: dict) -> dict:
    """The document read from a file, with those texts turned back into floats; ValueError
    naming the field where one holds neither a number nor such a text."""
    return _convert(document, floats.decode)


def _convert(document: Any, convert: Callable[[Any], Any]) -> Any:
    """``convert`` applied to every value of the fields that may hold a non-finite float."""
    if not isinstance(document, dict):
        return document
    converted = dict(document)
    if isinstance(document.get("weights_max_abs_diff"), dict):
        converted["weights_max_abs_diff"] = dict(
            (other, _value(convert, value, "weights_max_abs_diff." + other))
            for other, value in document["weights_max_abs_diff"].items())
    if isinstance(document.get("runs"), list):
        converted["runs"] = [_run(convert, run, index) for index, run in enumerate(document["runs"])]
    return converted


def _run(convert: Callable[[Any], Any], run: Any, index: int) -> Any:
    if not isinstance(run, dict):
        return run
    run = dict(run)
    if isinstance(run.get("history"), dict):
        run["history"] = dict(
            (metric, [_value(convert, value, "runs[%d].history.%s" % (index, metric)) for value in values]
             if isinstance(values, list) else values)
            for metric, values in run["history"].items())
    if "max_abs_diff_vs_run0" in run:
        run["max_abs_diff_vs_run0"] = _value(convert, run["max_abs_diff_vs_run0"], "runs[%d].max_abs_diff_vs_run0" % index)
    return run


def _value(convert: Callable[[Any], Any], value: Any, where: str) -> Any:
    if value is None:
        return None
    try:
        return convert(value)
    except ValueError as error:
        raise ValueError("%s holds %s" % (where, error))


def problems(document: Any) -> List[str]:
    """What is wrong with a trial document, one line each (empty when it is valid)."""
    if not isinstance(document, dict):
        return ["not a JSON object"]
    if document.get("schema_version") != SCHEMA_VERSION:
        return ["schema_version is %r, this code reads 1 to %d" % (document.get("schema_version"), SCHEMA_VERSION)]
    missing = [name for name in ("spec", "status", "runs", "error") if name not in document]
    if missing:
        return ["missing field %s" % ", ".join(repr(name) for name in missing)]
    found = _spec_problems(document["spec"])
    status = document["status"]
    if status not in STATUSES:
        found.append("status %r is not one of %s" % (status, ", ".join(STATUSES)))
    if status == "ok" and document["error"] is not None:
        found.append("an ok trial has an error")
    if status != "ok" and not (isinstance(document["error"], dict) and _all(document["error"], ("type", "message"), str)):
        found.append("a %s trial needs an error object with a type and a message" % status)
    found += _runs_problems(document, status)
    found += _mechanism_problems(document.get("mechanism", []))
    for name in ("timing", "software", "machine", "environment", "runner", "weights_max_abs_diff"):
        if name in document and not isinstance(document[name], dict):
            found.append("%s is not an object" % name)
    timing = document.get("timing")
    if isinstance(timing, dict) and not all(_duration(value) for value in timing.values()):
        found.append("timing holds something other than durations (finite numbers, at least 0)")
    differences = document.get("weights_max_abs_diff")
    if isinstance(differences, dict) and not all(_number(value) and not value < 0 for value in differences.values()):
        found.append("weights_max_abs_diff holds something other than differences (numbers, at least 0)")
    found += _executed_problems(document)
    found += _context_problems(document)
    device = document.get("device")
    if device is not None and not _device(device):
        found.append("device is not an object with a kind (cpu or gpu) and a name")
    return found


def _spec_problems(spec: Any) -> List[str]:
    if not isinstance(spec, dict):
        return ["spec is not an object"]
    found = []
    for name, kind in (("trial_id", str), ("config", str), ("protocol", str), ("epochs", int), ("dataset", dict)):
        if not isinstance(spec.get(name), kind) or isinstance(spec.get(name), bool):
            found.append("spec.%s is missing or not %s" % (name, _kind_name(kind)))
    if found:
        return found
    if not spec["trial_id"] or "/" in spec["trial_id"]:
        found.append("spec.trial_id %r is not a trial id" % spec["trial_id"])
    if spec["config"] not in CONFIGS:
        found.append("spec.config %r is not one of %s" % (spec["config"], ", ".join(CONFIGS)))
    if spec["protocol"] not in PROTOCOL_RUNS:
        found.append("spec.protocol %r is not one of %s" % (spec["protocol"], ", ".join(PROTOCOL_RUNS)))
    if not isinstance(spec["dataset"].get("name"), str):
        found.append("spec.dataset has no name")
    for name in ("seed", "samples", "batch_size", "repeat"):
        value = spec.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            found.append("spec.%s is not a whole number" % name)
    for name in ("framework", "model", "target"):
        if name in spec and not isinstance(spec[name], str):
            found.append("spec.%s is not text" % name)
    if spec.get("jit_compile", "auto") not in JIT_SETTINGS:
        found.append("spec.jit_compile %r is not one of %s" % (spec["jit_compile"], ", ".join(JIT_SETTINGS)))
    if isinstance(spec.get("framework"), str) and spec["framework"] not in FRAMEWORKS:
        found.append("spec.framework %r is not one of %s" % (spec["framework"], ", ".join(FRAMEWORKS)))
    return found


def _runs_problems(document: dict, status: Any) -> List[str]:
    runs = document["runs"]
    if not isinstance(runs, list):
        return ["runs is not a list"]
    found = []
    protocol = document["spec"].get("protocol") if isinstance(document["spec"], dict) else None
    expected = PROTOCOL_RUNS.get(protocol) if isinstance(protocol, str) else None
    if status == "ok" and expected is not None and len(runs) != expected:
        found.append("an ok %s trial needs %d runs, has %d" % (document["spec"]["protocol"], expected, len(runs)))
    epochs = document["spec"].get("epochs") if isinstance(document["spec"], dict) else None
    for index, run in enumerate(runs):
        if not isinstance(run, dict):
            found.append("runs[%d] is not an object" % index)
            continue
        history = run.get("history")
        if not (isinstance(history, dict) and history and all(
                isinstance(values, list) and values and all(_number(v) for v in values) for values in history.values())):
            found.append("runs[%d].history is not an object of lists of numbers" % index)
        elif isinstance(epochs, int) and any(len(values) != epochs for values in history.values()):
            found.append("runs[%d].history does not hold one value per epoch (%d) for every metric" % (index, epochs))
        digest = run.get("weights_sha256")
        if not (isinstance(digest, str) and SHA256.match(digest)):
            found.append("runs[%d].weights_sha256 is not a sha256" % index)
        if not _duration(run.get("fit_seconds")):
            found.append("runs[%d].fit_seconds is not a duration (a finite number, at least 0)" % index)
        if not (isinstance(run.get("epoch_seconds"), list) and all(_duration(v) for v in run["epoch_seconds"])):
            found.append("runs[%d].epoch_seconds is not a list of durations" % index)
        if run.get("weights_file") is not None and not isinstance(run["weights_file"], str):
            found.append("runs[%d].weights_file is not a file name" % index)
        if not isinstance(run.get("jit_compile"), (bool, type(None))):
            found.append("runs[%d].jit_compile is neither true, false nor null" % index)
    return found


# Text fields of the software and runner records that reports name cells by.
_TEXT = ("python", "tensorflow", "keras", "jax", "torch", "numpy", "image", "image_id", "python_version")


def _context_problems(document: dict) -> List[str]:
    """What reports read of where and with what a trial ran: of the right types, where present."""
    found = []
    for name in ("software", "runner"):
        record = document.get(name)
        if isinstance(record, dict) and not all(isinstance(record.get(key), (str, type(None))) for key in _TEXT):
            found.append("%s holds a version or image that is not text" % name)
    runner = document.get("runner")
    if isinstance(runner, dict):
        device = runner.get("device")
        if device is not None and not _device(device):
            found.append("runner.device is not an object with a kind (cpu or gpu) and a name")
        if "wall_seconds" in runner and not _duration(runner["wall_seconds"]):
            found.append("runner.wall_seconds is not a duration")
        concurrent = runner.get("concurrent_trials", 1)
        if not isinstance(concurrent, int) or isinstance(concurrent, bool) or concurrent < 1:
            found.append("runner.concurrent_trials is not a whole number of at least 1")
    if document.get("cuda_cache") is not None and not isinstance(document["cuda_cache"], dict):
        found.append("cuda_cache is not an object")
    loaded = document.get("loaded")
    if loaded is not None and not (isinstance(loaded, dict) and isinstance(loaded.get("libraries", []), list) and
                                   all(isinstance(loaded.get(key), (str, type(None)))
                                       for key in ("cuda_runtime", "cuda_driver_api", "cudnn", "cublas"))):
        found.append("loaded is not an object of libraries and versions")
    if isinstance(runner, dict) and not isinstance(runner.get("log_findings", {}), dict):
        found.append("runner.log_findings is not an object")
    experiment = document["spec"].get("experiment") if isinstance(document["spec"], dict) else None
    if experiment is not None and not (isinstance(experiment, dict) and _all(experiment, ("name", "sha256"), str)):
        found.append("spec.experiment is not an object with a name and a sha256")
    return found


def _device(device: Any) -> bool:
    return isinstance(device, dict) and device.get("kind") in DEVICE_KINDS and isinstance(device.get("name"), str)


def _executed_problems(document: dict) -> List[str]:
    """A trial of an experiment file records the sha256 of the bytes it ran: they must be the
    file its spec names (a trial that ran other code does not belong to its cell)."""
    executed, spec = document.get("experiment_executed"), document["spec"]
    planned = spec.get("experiment") if isinstance(spec, dict) else None
    if executed is None:
        return []
    if not (isinstance(executed, dict) and isinstance(executed.get("sha256"), str)):
        return ["experiment_executed is not an object with a sha256"]
    if not isinstance(planned, dict) or executed["sha256"] != planned.get("sha256"):
        return ["the trial executed an experiment file with sha256 %s, not the one its spec names (%s)"
                % (executed["sha256"][:12], (planned or {}).get("sha256", "none")[:12])]
    return []


def _mechanism_problems(mechanism: Any) -> List[str]:
    if not isinstance(mechanism, list):
        return ["mechanism is not a list"]
    for index, entry in enumerate(mechanism):
        if not isinstance(entry, dict) or any(name not in entry for name in controls.FIELDS):
            return ["mechanism[%d] is not an entry with %s" % (index, ", ".join(controls.FIELDS))]
        if entry["role"] not in controls.ROLES or entry["how"] not in controls.HOWS or entry["when"] not in controls.WHEN:
            return ["mechanism[%d] has an unknown role, how or when" % index]
        if not isinstance(entry["name"], str) or not isinstance(entry["text"], str):
            return ["mechanism[%d] has a name or text that is not text" % index]
    return []


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _duration(value: Any) -> bool:
    return _number(value) and math.isfinite(value) and value >= 0


def _all(mapping: dict, names: Iterable[str], kind: type) -> bool:
    return all(isinstance(mapping.get(name), kind) for name in names)


def _kind_name(kind: type) -> str:
    return {str: "text", int: "a whole number", dict: "an object"}[kind]


class InvalidResult(ValueError):
    """A document that the code about to write it got wrong: a bug, never a trial outcome."""


def check(document: Any) -> dict:
    """Raise InvalidResult naming every problem, or return the document."""
    found = problems(document)
    if found:
        raise InvalidResult("invalid trial result %s: %s" % (
            (document.get("spec") or {}).get("trial_id") if isinstance(document, dict) else "?", "; ".join(found)))
    return document
