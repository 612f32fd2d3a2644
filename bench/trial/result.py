"""The trial-result document: built here, checked here, on write as on read.

One file per trial (``trials/<trial id>.json``); every way of running trials writes it
through ``new``/``failure`` and ``bench.runner.tree``, which refuses a document that
``problems`` finds fault with, and the host reads it back through the same ``problems``
(after upgrading an older schema, ``bench.upgrade``). Fields::

    schema_version  SCHEMA_VERSION
    spec            what was asked (trial_id, config, protocol, seed, framework, model,
                    epochs, samples, batch_size, validation_split, dataset, ...)
    status          ok | error | timeout | unsupported
    error           None when ok, else {type, message[, traceback]}
    mechanism       the controls applied (bench.trial.controls)
    runs            per run: history, weights_sha256, epoch_seconds, fit_seconds, ...
    dataset, timing, software, machine, device, environment, cuda_cache, runner, ...
"""

import numbers

from bench.trial import controls
from bench.trial.configurations import CONFIGS

# Bump on any incompatible change of the fields, and teach bench.upgrade the older one.
# 1: mechanism as lines of prose. 2: mechanism as structured entries (bench.trial.controls).
SCHEMA_VERSION = 2
STATUSES = ("ok", "error", "timeout", "unsupported")
# How many times one trial trains: a fresh process once; the article's loop twice in one process.
PROTOCOL_RUNS = {"process": 1, "in-process": 2}
FAILED = ("error", "timeout")      # what a trial's own failure is called (unsupported is expected)
DEVICE_KINDS = ("cpu", "gpu")


def new(spec):
    """A document for a trial about to run (status ok until something fails)."""
    return {"schema_version": SCHEMA_VERSION, "spec": spec, "status": "ok", "error": None, "mechanism": [],
            "runs": [], "dataset": None, "timing": {}, "software": {}, "machine": {}, "device": None,
            "environment": {}}


def failure(spec, status, error_type, message):
    """A document for a trial whose worker left none (or could not run at all)."""
    document = new(spec)
    document.update(status=status, error={"type": error_type, "message": message})
    return document


def problems(document):
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
    if not all(_number(value) for value in (document.get("timing") or {}).values()):
        found.append("timing holds something other than numbers")
    device = document.get("device")
    if device is not None and not (isinstance(device, dict) and device.get("kind") in DEVICE_KINDS
                                   and isinstance(device.get("name"), str)):
        found.append("device is not an object with a kind (cpu or gpu) and a name")
    return found


def _spec_problems(spec):
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
    return found


def _runs_problems(document, status):
    runs = document["runs"]
    if not isinstance(runs, list):
        return ["runs is not a list"]
    found = []
    expected = PROTOCOL_RUNS.get((document["spec"] or {}).get("protocol")) if isinstance(document["spec"], dict) else None
    if status == "ok" and expected is not None and len(runs) != expected:
        found.append("an ok %s trial needs %d runs, has %d" % (document["spec"]["protocol"], expected, len(runs)))
    for index, run in enumerate(runs):
        if not isinstance(run, dict):
            found.append("runs[%d] is not an object" % index)
            continue
        history = run.get("history")
        if not (isinstance(history, dict) and history and all(
                isinstance(values, list) and values and all(_number(v) for v in values) for values in history.values())):
            found.append("runs[%d].history is not an object of lists of numbers" % index)
        digest = run.get("weights_sha256")
        if not (isinstance(digest, str) and len(digest) == 64):
            found.append("runs[%d].weights_sha256 is not a sha256" % index)
        if not _number(run.get("fit_seconds")):
            found.append("runs[%d].fit_seconds is not a number" % index)
        if not (isinstance(run.get("epoch_seconds"), list) and all(_number(v) for v in run["epoch_seconds"])):
            found.append("runs[%d].epoch_seconds is not a list of numbers" % index)
    return found


def _mechanism_problems(mechanism):
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


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _all(mapping, names, kind):
    return all(isinstance(mapping.get(name), kind) for name in names)


def _kind_name(kind):
    return {str: "text", int: "a whole number", dict: "an object"}[kind]


class InvalidResult(ValueError):
    """A document that the code about to write it got wrong: a bug, never a trial outcome."""


def check(document):
    """Raise InvalidResult naming every problem, or return the document."""
    found = problems(document)
    if found:
        raise InvalidResult("invalid trial result %s: %s" % (
            (document.get("spec") or {}).get("trial_id") if isinstance(document, dict) else "?", "; ".join(found)))
    return document
