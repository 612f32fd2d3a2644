#!/usr/bin/env python3
"""Measure the harness's own overhead (a benchmark, not a test).

Runs N real trials through the local runner and compares the runner's wall time with the
sum of the trials' own wall times (each trial process from start to exit). The ratio is
what the harness adds around the training it measures; aim <= 1.02.

    .venv/bin/python scripts/benchmark_harness.py --out results/harness/local.json
"""

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import datasets  # noqa: E402
from bench.local import LocalBackend  # noqa: E402
from bench.worker import fingerprint  # noqa: E402
from bench.worker import plan, runner  # noqa: E402
from bench.worker.configurations import CONFIGS  # noqa: E402
from bench.worker.tree import ResultTree  # noqa: E402
from bench.worker.jsonfile import write_json_atomic  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="trial interpreter (with TensorFlow)")
    parser.add_argument("--repeats", type=int, default=2, help="trials per config (default 2)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True, help="where to write the measurement (JSON)")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        tree = ResultTree(folder)
        backend = LocalBackend(arguments.python, timeout=3600, work_dir=Path(tree.staging))
        dataset = datasets.resolve("auto", None, say=lambda message: None)
        setup_seconds = time.perf_counter() - started
        trials = plan.build(["local"], list(CONFIGS), {"process": arguments.repeats})
        settings = plan.settings(epochs=arguments.epochs, samples=arguments.samples)
        loop_started = time.perf_counter()
        written = runner.run(trials, settings, dataset.spec, backend.execute, tree, say=lambda message: None)
        loop_seconds = time.perf_counter() - loop_started
    process_seconds = [result["runner"]["wall_seconds"] for result in written]
    worker_seconds = [result["timing"]["worker_seconds"] for result in written]
    measurement = {
        "benchmark": "harness overhead, local backend",
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": fingerprint.machine(),
        "tensorflow": backend.probe["tensorflow"],
        "dataset": dataset.spec["name"],
        "trials": len(written),
        "statuses": sorted({result["status"] for result in written}),
        "settings": settings,
        "runner_loop_seconds": loop_seconds,
        "sum_trial_process_seconds": sum(process_seconds),
        "ratio_runner_to_trials": loop_seconds / sum(process_seconds),
        "overhead_seconds_per_trial": (loop_seconds - sum(process_seconds)) / len(written),
        "setup_seconds": setup_seconds,
        "median_trial_process_seconds": statistics.median(process_seconds),
        "median_worker_seconds": statistics.median(worker_seconds),
        "median_interpreter_start_and_exit_seconds": statistics.median(
            p - w for p, w in zip(process_seconds, worker_seconds)),
    }
    write_json_atomic(str(arguments.out), measurement)
    print(f"{len(written)} trials: runner {loop_seconds:.2f} s, trials {sum(process_seconds):.2f} s, "
          f"ratio {measurement['ratio_runner_to_trials']:.4f}, "
          f"{measurement['overhead_seconds_per_trial'] * 1000:.1f} ms per trial -> {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
