"""The line between the two sides, checked mechanically.

Worker side (bench/__init__.py, bench/worker/): Python 3.6, stdlib + NumPy + TensorFlow only.
Host side: never imports TensorFlow (the report works without it).
"""

import ast
import glob
import os
import subprocess
import sys

import pytest

from bench import worker_source
from tests.conftest import REPO

WORKER_FILES = [str(REPO / path) for path in worker_source.files()]
WORKER_THIRD_PARTY = {"numpy", "tensorflow"}
# Only where a framework is loaded: standalone Keras 3 and its jax and torch backends.
FRAMEWORK_THIRD_PARTY = {"keras", "jax", "torch"}
VERMIN = os.path.join(os.path.dirname(sys.executable), "vermin")


def imported_top_levels(path):
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_vermin_finds_nothing_newer_than_python_3_6():
    done = subprocess.run([VERMIN, "--target=3.6-", "--violations", "--no-tips", *WORKER_FILES], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_vermin_would_catch_a_newer_construct(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("if (n := 3):\n    pass\n")  # walrus: Python 3.8
    done = subprocess.run([VERMIN, "--target=3.6-", "--violations", str(newer)],
                          capture_output=True, text=True)
    assert done.returncode != 0


def test_worker_side_imports_only_stdlib_numpy_and_tensorflow():
    for path in WORKER_FILES:
        allowed = WORKER_THIRD_PARTY | (FRAMEWORK_THIRD_PARTY if path.endswith("frameworks.py") else set())
        for name in imported_top_levels(path):
            assert name in sys.stdlib_module_names or name in allowed or name == "bench", \
                f"{path} imports {name}"


def test_worker_side_never_imports_host_modules():
    for path in WORKER_FILES:
        source = ast.parse(open(path).read())
        for node in ast.walk(source):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bench"):
                assert node.module.startswith("bench.worker") or node.module == "bench", path
                if node.module == "bench":
                    assert all(alias.name == "worker" for alias in node.names), path


def test_host_side_never_imports_tensorflow():
    host_files = set(glob.glob(str(REPO / "bench" / "*.py"))) - set(WORKER_FILES)
    assert host_files
    for path in host_files:
        assert "tensorflow" not in set(imported_top_levels(path)), path
    code = ("import sys; sys.modules['tensorflow'] = None; "
            "import bench.cli, bench.views, bench.results, bench.local, bench.publish, bench.envs")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def pyenv_python(minor):
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
        if _has("pyenv") else os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", f"{minor}.*", "bin", "python")))
    return found[-1] if found else None


def _has(program):
    from shutil import which
    return which(program) is not None


@pytest.mark.skipif(pyenv_python("3.6") is None, reason="no Python 3.6 on this machine")
def test_worker_side_runs_on_a_real_python_3_6(tmp_path):
    python = pyenv_python("3.6")
    subprocess.run([python, "-m", "py_compile", *WORKER_FILES], check=True)
    worker_source.copy_to(tmp_path)
    done = subprocess.run([python, "-m", "bench.worker", "--probe"], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": os.environ["PATH"]}, check=True)
    assert '"python": "3.6.' in done.stdout


def test_run_and_report_need_neither_docker_nor_matplotlib():
    """The GPU machines have neither: `bench run` (local) and text reports must work there."""
    code = ("import sys; sys.modules['docker'] = None; sys.modules['matplotlib'] = None; "
            "from bench.cli import main; "
            "sys.exit(main(['report', 'tests/fixtures/golden-run', '--format', 'plain']))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True)
