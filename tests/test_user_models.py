"""Right answers for models shaped as users write them, run for real (TF of .venv, fresh
processes): a file edited while its plan runs, models without an input shape, without
metrics, without validation, with several inputs and outputs, with a NaN loss, with helper
processes, and the refusals that must come before any trial."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from bench import results
from tests.conftest import REPO, bench
from tests.test_faults import alive, assert_one_line_error, gone_within, running_worker, start

EXPERIMENTS = REPO / "tests" / "fixtures" / "experiments"
VIEWS = ("cells", "summary", "versions", "devices")
FORMATS = ("github", "plain", "csv", "json")


def strict_json(path):
    """The file as strict JSON: a bare NaN or Infinity fails."""
    def refuse(name):
        raise AssertionError(f"{path} holds a bare {name}")
    return json.loads(path.read_text(), parse_constant=refuse)


def cells_of(folder):
    return {cell["config"]: cell for cell in json.loads(bench("report", folder, "--format", "json").stdout)}


def every_view_and_format_renders(folder):
    """Every view in every format, and the HTML page (in this process: what bench report
    renders; the command itself is run elsewhere)."""
    from bench.report import html_page, tables, views
    from bench.report.cells import build_cells
    loaded, diagnoses = results.load([folder]), results.diagnoses([folder])
    cells = build_cells(loaded, diagnoses)
    for view in VIEWS:
        for fmt in FORMATS:
            text = tables.render(views.build(view, loaded, cells), fmt)
            if fmt == "json":
                json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in --format json"))
    page = html_page.render(loaded, cells=cells, diagnoses=diagnoses)
    assert "</html>" in page


# The file a folder runs is the file its plan froze ------------------------------------------------

@pytest.mark.trial
def test_an_edit_during_the_run_changes_nothing_and_resuming_an_edited_file_says_what_works(tmp_path):
    mine = tmp_path / "mine"  # a Python file need not be named .py
    shutil.copyfile(EXPERIMENTS / "lazy_loss_only.py", mine)
    out = tmp_path / "run"
    run = start("run", "--experiment", mine, "--configs", "none", "--repeats", "3", "--out", out)
    first = out / "trials" / "local--process--none--r01.json"
    deadline = time.monotonic() + 300
    while not first.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    mine.write_text(mine.read_text().replace("Dense(8,", "Dense(16,"))  # another model, same name
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr
    loaded = results.load([out])
    planned = {result["spec"]["experiment"]["sha256"] for result in loaded}
    assert len(loaded) == 3 and len(planned) == 1 and {result["status"] for result in loaded} == {"ok"}
    assert {result["experiment_executed"]["sha256"] for result in loaded} == planned
    frozen = out / "experiment" / planned.pop() / "mine"
    assert frozen.read_text() != mine.read_text() and "Dense(8," in frozen.read_text()
    [cell] = cells_of(out).values()
    assert cell["weights_max_abs_diff"] is not None and cell["weights_max_abs_diff"] < 100  # same shapes: finite
    assert not list(tmp_path.glob("__pycache__")), "a trial wrote bytecode beside the user's file"
    assert bench("check", out).returncode == 0
    # The folder alone can be run elsewhere: its copy stands in for a file that is not there.
    moved, edited = tmp_path / "moved", mine.read_text()
    shutil.copytree(out, moved, ignore=shutil.ignore_patterns(".lock"))
    mine.unlink()
    elsewhere = bench("run", "--resume", moved)
    assert "the run continues with the folder's own copy" in elsewhere.stderr
    mine.write_text(edited)
    # Resuming with the edited file is refused, with advice; the advice works.
    refused = bench("run", "--resume", out, check=False)
    last = assert_one_line_error(refused, 2, "has changed since the folder's plan was made", "--experiment")
    advised = last[last.index("(--resume"):].split(")")[0].strip("(").split()
    assert bench(*(["run"] + advised)).returncode == 0
    also_refused = bench("run", "--experiment", mine, "--configs", "none", "--repeats", "3", "--out", out, check=False)
    assert_one_line_error(also_refused, 2, "holds another plan", f"--experiment {frozen}")


@pytest.mark.unit
def test_a_trial_runs_only_the_bytes_its_plan_names(tmp_path):
    """Worker side: the file is read once, hashed, checked against the plan's sha256 and run
    from those bytes (no import machinery: no bytecode beside it, any file name)."""
    from bench.trial import user_experiment
    copy = tmp_path / "frozen"
    shutil.copyfile(EXPERIMENTS / "lazy_loss_only.py", copy)
    described = user_experiment.describe(str(copy))
    loaded = user_experiment.UserExperiment(described)
    assert loaded.sha256 == described["sha256"] and callable(loaded.module.build_model)
    copy.write_text(copy.read_text() + "\n# edited\n")
    with pytest.raises(user_experiment.ExperimentError, match="it was changed after the run was planned"):
        user_experiment.UserExperiment(described)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["frozen"]


# Any model's metrics ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lazy_run(tmp_path_factory):
    """A real run of a model without input shape, metrics or validation: none and seeds."""
    out = tmp_path_factory.mktemp("lazy") / "run"
    bench("run", "--experiment", EXPERIMENTS / "lazy_loss_only.py", "--configs", "none,seeds", "--out", out)
    return out


def copy_of(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "copy", ignore=shutil.ignore_patterns(".lock"))


@pytest.mark.trial
def test_a_lazily_built_loss_only_model_that_never_validates(lazy_run, tmp_path):
    out = copy_of(lazy_run, tmp_path)
    cells = cells_of(out)
    assert cells["none"]["verdict"] == "mismatch" and cells["seeds"]["verdict"] == "match"
    assert set(cells["none"]["metrics_max_abs_diff"]) == {"loss"}
    every_view_and_format_renders(out)
    assert "max |Δ loss|" in bench("report", out, "--format", "plain").stdout
    # diagnose: the initial weights differ, though no variable exists before the first batch
    diagnosed = bench("diagnose", "--from", out, "--format", "json")
    [pair] = json.loads(diagnosed.stdout)
    assert pair["phase"] == "initialization" and pair["built_before_fit"] is True
    assert [variable["name"] for variable in pair["variables"]][:1] == ["sequential/dense/kernel"]
    assert all(variable["max_abs_diff"] > 0 for variable in pair["variables"])
    assert "init sequential/dense/kernel" in bench("report", out).stdout
    assert bench("check", out).returncode == 0
    every_view_and_format_renders(out)  # with the diagnosis in it


@pytest.mark.trial
def test_several_inputs_and_outputs_and_custom_metric_names(tmp_path):
    out = tmp_path / "run"
    bench("run", "--experiment", EXPERIMENTS / "two_outputs.py", "--configs", "seeds", "--out", out)
    [cell] = cells_of(out).values()
    assert cell["verdict"] == "match" and {"score_mae", "val_label_loss"} <= set(cell["metrics_max_abs_diff"])
    every_view_and_format_renders(out)


@pytest.mark.trial
def test_a_nan_loss_is_a_value_compared_bit_for_bit_and_said(tmp_path):
    out = tmp_path / "run"
    bench("run", "--experiment", EXPERIMENTS / "nan_labels.py", "--configs", "none,seeds", "--out", out)
    for trial in (out / "trials").glob("*.json"):
        document = strict_json(trial)
        assert {value for value in document["runs"][0]["history"]["loss"]} <= {"NaN", "-NaN"}
    cells = cells_of(out)
    for cell in cells.values():
        assert cell["verdict"] == "match" and cell["first_divergent_epoch"] is None
        assert any("the loss became non-finite" in warning and "from epoch 1" in warning for warning in cell["warnings"])
    every_view_and_format_renders(out)
    assert bench("check", out).returncode == 0


@pytest.mark.trial
def test_a_cell_of_one_trial_compares_nothing_and_says_so(lazy_run, tmp_path):
    out = copy_of(lazy_run, tmp_path)
    (out / "trials" / "local--process--seeds--r02.json").unlink()
    cell = cells_of(out)["seeds"]
    assert cell["verdict"] == "incomplete" and cell["weights_max_abs_diff"] is None
    assert cell["metrics_max_abs_diff"] == {}
    [row] = [[part.strip() for part in line.split("|")] for line in bench("report", out).stdout.splitlines()
             if "| seeds " in line]
    assert row[row.index("incomplete") + 1:row.index("incomplete") + 3] == ["-", "-"]


# Nothing outlives a trial ---------------------------------------------------------------------------

@pytest.mark.trial
def test_a_runner_killed_outright_takes_the_helpers_of_its_trials_with_it(tmp_path):
    pids, temporary = tmp_path / "helpers", tmp_path / "tmp"
    temporary.mkdir()
    out = tmp_path / "run"
    environment = dict(os.environ, HELPER_PIDS=str(pids), TMPDIR=str(temporary))
    arguments = ["run", "--experiment", EXPERIMENTS / "with_helpers.py", "--configs", "seeds", "--inherit-env",
                 "HELPER_PIDS", "--out", out]
    run = subprocess.Popen([sys.executable, "-m", "bench", *map(str, arguments)], cwd=REPO, env=environment,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    worker = running_worker(out)
    deadline = time.monotonic() + 120
    while len(pids.read_text().split() if pids.exists() else []) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    helpers = [int(pid) for pid in pids.read_text().split()]
    assert all(alive(pid) for pid in helpers)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert gone_within(worker, 5)
    in_group = [pid for pid in helpers if gone_within(pid, 5)]
    assert len(in_group) >= len(helpers) // 2, "the trial's process group outlived its runner"
    # the one in a session of its own carries the trial's mark: the next run of the folder ends it
    survivors = [pid for pid in helpers if alive(pid)]
    pids.unlink()
    again = subprocess.run([sys.executable, "-m", "bench", *map(str, arguments), "--timeout", "1"], cwd=REPO,
                           env=environment, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in again.stderr
    assert all(gone_within(pid, 5) for pid in survivors), "a helper of an earlier trial survived --resume"
    started = [int(pid) for pid in pids.read_text().split()] if pids.exists() else []
    assert all(gone_within(pid, 5) for pid in started), "a helper outlived its trial"
    assert not list(temporary.iterdir()), "a temporary folder outlived its run"


# Refused before any trial, in one line ------------------------------------------------------------

@pytest.mark.trial
def test_refusals_before_any_trial(tmp_path):
    experiment = EXPERIMENTS / "lazy_loss_only.py"
    cases = [
        (["run", "--experiment", experiment, "--samples", "500"], "returns 96 training examples"),
        (["run", "--batch-size", str(2**40)], "must be at most"),
        (["run", "--epochs", "100000000000000000000"], "must be at most"),
        (["run", "--budget", "nan"], "positive, finite"),
        (["run", "--budget", "inf"], "positive, finite"),
        (["run", "--budget", "0"], "positive, finite"),
        (["run", "--experiment", tmp_path], "is a folder"),
        (["run", "--data", tmp_path], "is a folder"),
        (["run", "--resume", tmp_path / "a", "--out", tmp_path / "b"], "give one of them"),
        (["report", REPO / "results" / "local-cpu-tf2.21", "--output", tmp_path], "is a folder"),
        (["slurm", "--out", tmp_path / "s", "--gpu-types", "h100,h100", "--dry-run"], "names a type twice"),
        (["slurm", "--out", tmp_path / "s", "--gpu-types", "h100,;rm", "--dry-run"], "not a GPU type name"),
    ]
    for fit, problem in (("{'epochs': 1e20}", "FIT's epochs"), ("{'batch_size': '32'}", "FIT's batch_size"),
                         ("{'validation_split': 1.5}", "FIT's validation_split")):
        bad = tmp_path / f"fit{len(cases)}.py"
        bad.write_text(experiment.read_text().replace('FIT = {"epochs": 2, "batch_size": 16, "validation_split": 0}',
                                                      f"FIT = {fit}"))
        cases.append((["run", "--experiment", bad], problem))
    for arguments, phrase in cases:
        out = tmp_path / "out"
        done = bench(*arguments, *(["--out", out] if arguments[0] == "run" and "--resume" not in arguments else []),
                     check=False)
        assert_one_line_error(done, 2, phrase)
        assert not (out / "trials").exists()


@pytest.mark.trial
def test_a_budget_that_finishes_nothing_exits_3(tmp_path):
    done = bench("run", "--experiment", EXPERIMENTS / "lazy_loss_only.py", "--budget", "0.5",
                 "--out", tmp_path / "run", check=False)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "budget spent before any trial finished" in done.stderr


@pytest.mark.trial
def test_diagnose_from_a_folder_with_nothing_to_diagnose_or_other_settings(lazy_run, tmp_path):
    out = copy_of(lazy_run, tmp_path)
    shutil.rmtree(out / "diagnoses", ignore_errors=True)
    for trial in (out / "trials").glob("*--none--*.json"):
        trial.unlink()  # what is left: a cell that matches
    nothing = bench("diagnose", "--from", out)
    assert "no cell there is a mismatch" in nothing.stdout and not (out / "diagnoses").exists()
    refused = bench("diagnose", "--from", out, "--epochs", "5", check=False)
    assert_one_line_error(refused, 2, "--epochs 5 (the folder's trials ran with 2)")


@pytest.mark.trial
def test_preflight_runs_the_users_load_data(tmp_path):
    found = bench("preflight", "--experiment", EXPERIMENTS / "two_outputs.py")
    assert "two_outputs.py: load_data(keras) returns 120 examples" in found.stderr
    broken = tmp_path / "broken.py"
    broken.write_text("def load_data(keras):\n    raise KeyError('no such column')\n\ndef build_model(keras):\n    pass\n")
    done = bench("preflight", "--experiment", broken, check=False)
    assert_one_line_error(done, 1, "load_data(keras) failed", "KeyError")
