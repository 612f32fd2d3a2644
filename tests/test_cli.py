"""Bad input: one line that says what to do, and exit status 2."""

import pytest

from tests.conftest import bench

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("arguments, expected", [
    (["run", "--configs", "none,fast"], "unknown config 'fast'; choose from none, seeds, full"),
    (["run", "--protocol", "twice"], "unknown protocol 'twice'"),
    (["run", "--repeats", "1"], "--repeats must be at least 2"),
    (["run", "--repeats", "two"], "'two' is not a whole number"),
    (["run", "--epochs", "0"], "'0' must be at least 1"),
    (["run", "--timeout", "-1"], "must be a positive, finite number of seconds"),
    (["run", "--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["run", "--data", "/nonexistent/mnist.npz"], "--data /nonexistent/mnist.npz: no such file"),
    (["run", "--python", "/nonexistent/python"], "--python /nonexistent/python: no such executable"),
    (["report", "/nonexistent/results"], "/nonexistent/results: no such file or folder"),
    (["report"], "the following arguments are required: PATH"),
    (["report", ".", "--format", "yaml"], "invalid choice: 'yaml'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_give_one_line_and_exit_2(arguments, expected, tmp_path):
    done = bench(*arguments, "--out", tmp_path, check=False) if arguments[0] == "run" else \
        bench(*arguments, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ")
    assert expected in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_a_python_without_tensorflow_is_refused_before_any_trial(tmp_path):
    venv = tmp_path / "venv"
    import subprocess, sys
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    done = bench("run", "--python", venv / "bin" / "python", "--out", tmp_path / "out", check=False)
    assert done.returncode == 1
    assert "TensorFlow is not installed for" in done.stderr and "--python" in done.stderr
    assert not (tmp_path / "out" / "trials").exists()


def test_help_explains_every_option():
    done = bench("run", "--help")
    for option in ("--configs", "--repeats", "--protocol", "--in-process-repeats", "--epochs",
                   "--samples", "--batch-size", "--seed", "--dataset", "--data", "--python",
                   "--timeout", "--out", "--format"):
        assert option in done.stdout


DOCS = "docs: docs/index.md in the repository, or the site built by `mkdocs build`"


def test_version_prints_the_version_and_where_the_docs_are():
    from bench import __version__
    done = bench("--version")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == f"repro-bench {__version__}\n{DOCS}\n"


def test_help_ends_with_where_the_docs_are():
    done = bench("--help")
    assert done.returncode == 0
    assert " ".join(done.stdout.strip().splitlines()[-1].split()) == DOCS
    for command in ("run", "report"):
        last = " ".join(bench(command, "--help").stdout.strip().split("\n\n")[-1].split())
        assert last == f"docs: docs/cli.md (bench {command}) in the repository, or the site built by `mkdocs build`"
