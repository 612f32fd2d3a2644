"""scripts/gpu-prepare and scripts/gpu-run, end to end on the CPU (GPU_RUN_DEVICE=cpu):
the offline install on a bare Python 3.12 with only NumPy and jax (as a lent GPU machine
has them), the preflight, the budget, the archives a call returns, and that a second call
continues. The archives must unpack into trees that `bench check` passes."""

import os
import re
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from bench import results
from bench.environments import cache, envs
from tests.conftest import REPO, bench
from tests.test_worker_side import pyenv_python

QUICK = ["--", "--samples", "300", "--epochs", "1"]


@pytest.fixture(scope="module")
def gpu_dir(tmp_path_factory):
    """What gpu-prepare makes (wheels for Python 3.12 and the MNIST subset), made here."""
    folder = tmp_path_factory.mktemp("gpu") / "prepared"
    done = subprocess.run([str(REPO / "scripts" / "gpu-prepare")], env=dict(os.environ, GPU_DIR=str(folder)),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


@pytest.fixture(scope="module")
def bare_python():
    """A Python 3.12 with NumPy and jax and nothing else (a venv, as the GPU machine's python3 is)."""
    base = pyenv_python("3.12")
    if base is None:
        pytest.skip("no Python 3.12 on this machine")
    folder = cache.home() / "test-envs" / "py3.12-numpy-jax"
    python = folder / "bin" / "python"
    if not (folder / "ready").exists():
        subprocess.run([base, "-m", "venv", "--clear", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "numpy", "jax"], check=True, timeout=900)
        (folder / "ready").write_text("numpy and jax\n")
    return str(python)


def gpu_run(gpu_dir, python, work, out, *arguments, check=True, wait=True):
    # Offline, as on the GPU machine: no index, no pip configuration, no other wheel folders.
    environment = {key: value for key, value in os.environ.items() if key != "PIP_FIND_LINKS"}
    environment.update(GPU_RUN_DEVICE="cpu", GPU_RUN_PYTHON=str(python), GPU_RUN_WORK=str(work),
                       GPU_DIR=str(gpu_dir), PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull)
    command = [str(REPO / "scripts" / "gpu-run"), str(out), *map(str, arguments)]
    if not wait:
        return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def unpacked(out, tmp_path, name="gpu-cpu-dry-run.tar.gz"):
    archive = out / name
    with tarfile.open(archive) as packed:
        names = packed.getnames()
        packed.extractall(tmp_path / "unpacked")
    assert not [name for name in names if "/weights/" in name or ".staging" in name]
    return tmp_path / "unpacked" / archive.name[:-len(".tar.gz")]


@pytest.mark.trial
def test_dry_run_on_a_bare_python_with_only_numpy_and_jax(gpu_dir, bare_python, tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    gpu_run(gpu_dir, bare_python, work, out, "--budget", 400, "--repeats", 2, "--frameworks", "keras3-jax",
            "--models", "mlp", *QUICK)
    assert sorted(path.name for path in out.iterdir()) == ["gpu-cpu-dry-run-jit-off.tar.gz", "gpu-cpu-dry-run.tar.gz",
                                                           "gpu-run.log"]
    installed = sorted(path.name for path in (work / "site").iterdir() if path.name.endswith(".dist-info"))
    assert any(name.startswith("keras-3.") for name in installed)
    # Only what the machine lacked: its own NumPy (and jax's ml_dtypes) stay in charge.
    assert not any(name.startswith(("numpy-", "ml_dtypes-", "jax")) for name in installed)
    tree = unpacked(out, tmp_path)
    assert bench("check", tree).stdout.startswith("ok: ")
    loaded = results.load([tree])
    assert len(loaded) == 6 and {r["spec"]["framework"] for r in loaded} == {"keras3-jax"}
    verdicts = {c["config"]: c["verdict"] for c in __import__("json").loads(bench("report", tree, "--format", "json").stdout)}
    assert verdicts == {"none": "mismatch", "seeds": "match", "full": "match"}
    assert (tree / "machine.json").exists() and (tree / "plan.json").exists()
    # the same plan without XLA beside it: jax compiles every config with XLA as shipped
    off = unpacked(out, tmp_path / "off", "gpu-cpu-dry-run-jit-off.tar.gz")
    cells = __import__("json").loads(bench("report", tree, off, "--format", "json").stdout)
    assert {(cell["jit_compile"], cell["xla"]) for cell in cells} == {("auto", "yes"), ("off", "no")}


@pytest.mark.trial
def test_a_call_cut_off_returns_what_it_finished_and_the_next_call_continues(gpu_dir, tmp_path):
    """The device tool kills a call at its time limit: the archive in OUT must hold every
    trial finished before that, and a second call on the same machine goes on from there."""
    keras3 = envs.load(envs.root(), "keras3")
    if keras3 is None:
        bench("envs", "create", "keras3", timeout=1800)
        keras3 = envs.load(envs.root(), "keras3")
    work, first_out = tmp_path / "work", tmp_path / "out1"
    arguments = ["--budget", 400, "--repeats", 2, "--frameworks", "keras3-torch", "--models", "mlp", *QUICK]
    call = gpu_run(gpu_dir, keras3.python, work, first_out, *arguments, wait=False)
    try:
        deadline = time.monotonic() + 400
        while len(archived_trials(first_out)) < 2:
            assert call.poll() is None and time.monotonic() < deadline, "no two trials archived"
            time.sleep(0.5)
    finally:
        os.killpg(call.pid, signal.SIGKILL)  # the whole call, as a time limit would
        call.wait()
    finished = results.load([unpacked(first_out, tmp_path / "a")])
    assert 2 <= len(finished) < 6 and all(result["status"] == "ok" for result in finished)
    second = gpu_run(gpu_dir, keras3.python, work, tmp_path / "out2", *arguments)
    assert re.search(r"resuming: [2-5] of 6 trials already done", second.stdout)
    tree = unpacked(tmp_path / "out2", tmp_path / "b")
    assert bench("check", tree).stdout.startswith("ok: ")
    loaded = {result["spec"]["trial_id"]: result for result in results.load([tree])}
    assert len(loaded) == 6
    for result in finished:  # kept as they were, not run again
        assert loaded[result["spec"]["trial_id"]]["started_at"] == result["started_at"]


def archived_trials(out):
    for archive in out.glob("*.tar.gz"):
        try:
            with tarfile.open(archive) as packed:
                return [name for name in packed.getnames() if "/trials/" in name]
        except (tarfile.TarError, OSError, EOFError):  # being replaced right now
            return []
    return []


@pytest.mark.trial
def test_preflight_stops_with_one_line_when_a_backend_is_missing(gpu_dir, tmp_path):
    """A plain Python 3.12 (not a venv): the install makes a venv that sees its packages and
    fills it from the wheels alone; jax is not there, which the preflight says in one line."""
    base = pyenv_python("3.12")
    if base is None:
        pytest.skip("no Python 3.12 on this machine")
    done = gpu_run(gpu_dir, base, tmp_path / "work", tmp_path / "out", "--frameworks", "keras3-jax", check=False)
    assert done.returncode == 1
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("error: preflight: keras3-jax does not import in ")
    assert "No module named 'jax'" in last
    assert (tmp_path / "work" / "venv" / "bin" / "python").exists()
    assert (tmp_path / "out" / "gpu-run.log").read_text().strip().splitlines()[-1] == last


@pytest.mark.unit
def test_gpu_run_refuses_a_call_without_preparation(tmp_path):
    done = gpu_run(tmp_path / "absent", sys.executable, tmp_path / "work", tmp_path / "out", check=False)
    assert done.returncode == 1 and "run scripts/gpu-prepare first" in done.stdout
