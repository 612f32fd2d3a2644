"""Run one trial as its spec says and build its result document.

A trial is one process. Under the ``process`` protocol it trains once and trials are
compared with each other; under ``in-process`` (the article's loop) it trains twice,
re-seeding before each model, and its two runs are compared with each other.
"""

import datetime
import os
import time
import traceback
from typing import Any, Callable, List, Optional

from bench.trial import (configurations, cuda_cache, data, exits, experiment, fingerprint, frameworks, gpus, loaded,
                         result as result_document, user_experiment, weights)
from bench.trial.result import PROTOCOL_RUNS

REQUIRED_SPEC_FIELDS = ("trial_id", "config", "protocol", "seed", "framework", "model", "epochs",
                        "samples", "batch_size", "validation_split", "dataset")


class SpecError(ValueError):
    """The trial spec is malformed: a host bug, not a trial outcome."""


def check_spec(spec: dict) -> None:
    missing = [field for field in REQUIRED_SPEC_FIELDS if field not in spec]
    if missing:
        raise SpecError("trial spec lacks: %s" % ", ".join(missing))
    if spec["protocol"] not in PROTOCOL_RUNS:
        raise SpecError("unknown protocol %r; known: %s" % (spec["protocol"], ", ".join(PROTOCOL_RUNS)))
    if spec["config"] not in configurations.CONFIGS:
        raise SpecError("unknown config %r" % spec["config"])
    if (spec["seed"] is None) == (spec["config"] in configurations.SEEDED):
        raise SpecError("config %r needs %s seed" % (spec["config"], "a" if spec["config"] in configurations.SEEDED
                                                     else "no"))


def run(spec: dict, output_dir: Optional[str] = None, hold: Optional[Callable[[], float]] = None) -> dict:
    """Run the trial; never raises for a failure of the trial itself (that is a result).

    With ``output_dir``, each run's final weights are saved there as weights-<run>.npz. With
    ``hold`` (an overlapped start), the trial calls it once its framework is imported and its
    data loaded, and goes on when it returns (the seconds it waited): nothing before it seeds,
    touches a device or builds a model, so a trial started early changes nothing it measures.
    """
    check_spec(spec)
    started = time.perf_counter()
    result = result_document.new(spec)
    result.update(software=fingerprint.interpreter(), machine=fingerprint.machine(), started_at=_now())
    framework = None
    cache_before = cuda_cache.state()
    held = 0.0
    try:
        config = spec["config"]
        mechanism = result["mechanism"]
        mechanism.extend(configurations.check_start_environment(config))
        framework = frameworks.create(spec["framework"])
        mechanism.extend(configurations.before_import(config, framework))
        keras = _timed(result, "import_seconds", framework.load)
        mechanism.extend(configurations.after_import(config, framework))
        chosen = (user_experiment.UserExperiment(spec["experiment"]) if spec.get("experiment") else
                  experiment.shipped(spec["model"]))  # loaded once: the in-process protocol builds twice
        if spec.get("experiment"):  # the bytes it runs, checked against the plan's sha256 as they were read
            result["experiment_executed"] = {"path": chosen.path, "sha256": chosen.sha256}
        x, y, result["dataset"] = _timed(result, "data_seconds", data.load, spec["dataset"],
                                         spec["samples"], keras, chosen)
        if hold is not None:
            held = result["timing"]["held_seconds"] = hold()
            result["started_at"] = _now()  # the trial proper starts here; it was prepared before
        if spec.get("gpu") is not None and not framework.gpus():  # it would train on the CPU unseen
            raise RuntimeError("GPU %s was asked for, but %s sees no GPU (a CPU-only build, or no driver)"
                               % (spec["gpu"], spec["framework"]))
        first_weights = None
        for index in range(PROTOCOL_RUNS[spec["protocol"]]):
            seeded = configurations.seed_before_model(config, framework, spec["seed"])
            if index == 0:
                mechanism.extend(seeded)
                before_model = time.perf_counter() - started - held
            traced = spec.get("trace") and index == 0 and output_dir is not None
            record, final_weights = experiment.train(keras, x, y, spec, chosen,
                                                     os.path.join(output_dir, "trace") if traced else None)
            if index == 0:  # import, data, device start (PTX compiled here where needed), build
                result["timing"]["startup_seconds"] = before_model + record["build_seconds"]
            if first_weights is None:
                first_weights = final_weights
            else:  # in-process: how far the second run is from the first
                record["max_abs_diff_vs_run0"] = weights.max_abs_difference(first_weights, final_weights)
            if output_dir is not None:
                record["weights_file"] = "weights-%d.npz" % index
                weights.save(os.path.join(output_dir, record["weights_file"]), final_weights)
            result["runs"].append(record)
    except Exception as error:  # any failure of the trial is an outcome, recorded in full
        described = "%s: %s" % (type(error).__name__, error)
        result["status"] = ("unsupported" if exits.unsupported_reason(described) else
                            "refused" if spec["config"] in configurations.DETERMINISTIC and
                            exits.refusal_reason(described) else "error")
        result["error"] = {
            "type": "%s.%s" % (type(error).__module__, type(error).__name__),
            "message": str(error)[:4000],
            "traceback": traceback.format_exc()[-8000:],
        }
    if framework is not None and framework.loaded:
        result["software"].update(framework.software())
        result["device"] = _device(framework.gpus(), result["machine"])
    result["environment"] = fingerprint.environment()
    result["loaded"] = loaded.stack()  # what the dynamic loader found, not what the build names
    result["cuda_cache"] = cuda_cache.record(cache_before, cuda_cache.state())
    result["timing"]["worker_seconds"] = time.perf_counter() - started - held  # its own work, not the wait
    result["finished_at"] = _now()
    return result


def _timed(result: dict, key: str, function: Callable[..., Any], *arguments: Any) -> Any:
    started = time.perf_counter()
    value = function(*arguments)
    result["timing"][key] = time.perf_counter() - started
    return value


def _device(framework_gpus: List[dict], machine: dict) -> dict:
    """The device the model trained on: the framework places it on the first visible GPU.

    nvidia-smi adds what frameworks do not report (UUID, driver, memory)."""
    if framework_gpus:
        described = gpus.visible(gpus.query())
        first = described[0] if described else {}
        name = first.get("name") or framework_gpus[0].get("name") or framework_gpus[0]["tf_name"]
        return {"kind": "gpu", "name": name, "uuid": first.get("uuid"), "driver": first.get("driver"),
                "compute_capability": first.get("compute_capability") or
                framework_gpus[0].get("compute_capability"),
                "memory_mib": first.get("memory_mib"), "gpus": framework_gpus, "nvidia_smi": described}
    return {"kind": "cpu", "name": machine["cpu_model"], "gpus": []}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()
