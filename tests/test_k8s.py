"""bench k8s: the plan as Kubernetes Indexed Jobs. No API server can run here: the manifests
are held to the Kubernetes API schemas (kubernetes-validate, the oldest and newest versions
supported) and to golden files, the status is read from an API response written in the
API's shape, and bad input is one line with nothing written."""

import json
import os

import pytest

from bench.launchers import k8s
from tests.conftest import REPO, bench_here

pytestmark = pytest.mark.unit
GOLDEN = REPO / "tests" / "fixtures" / "k8s"
KUBERNETES = ("1.29.0", "1.37.0")  # backoffLimitPerIndex is on by default from 1.29
PLAN = ["k8s", "--tf", "2.8,2.21", "--gpu-types", "h100=NVIDIA-H100-80GB-HBM3,a100=NVIDIA-A100-SXM4-80GB",
        "--claim", "results", "--registry", "registry.lab.example/ml", "--run", "lab", "--queue", "team-a",
        "--repeats", "3", "--configs", "none,seeds,full", "--time-limit", "30:00", "--trial-seconds", "200"]


@pytest.fixture(scope="module")
def manifests(tmp_path_factory):
    folder = tmp_path_factory.mktemp("k8s")
    done = bench_here(*PLAN, "--dry-run", folder)
    assert done.returncode == 0, done.stderr
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.iterdir())}


def test_the_manifests_are_the_golden_ones(manifests):
    golden = GOLDEN / "manifests"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.mkdir(exist_ok=True)
        for name, document in manifests.items():
            (golden / name).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    assert sorted(manifests) == sorted(path.name for path in golden.iterdir())
    for name, document in manifests.items():
        assert document == json.loads((golden / name).read_text()), name


@pytest.mark.parametrize("version", KUBERNETES)
def test_every_manifest_is_valid_for_kubernetes(manifests, version):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for name, document in manifests.items():
        kubernetes_validate.validate(document, version, strict=True)  # raises naming the field


def test_each_job_runs_its_shards_sealed_on_one_gpu_of_its_type(manifests):
    jobs = {name: document for name, document in manifests.items() if name.endswith(".job.json")}
    assert set(jobs) == {f"lab-tf{v}-{g}.job.json" for v in ("2-8", "2-21") for g in ("h100", "a100")}
    job = jobs["lab-tf2-8-h100.job.json"]
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    plans = manifests["lab-tf2-8-h100.configmap.json"]["data"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == 3  # cut by config: 30 min limit
    assert sorted(plans) == ["0.json", "0.name", "1.json", "1.name", "2.json", "2.name"]
    assert [json.loads(plans[f"{i}.json"])["settings"]["configs"] for i in range(3)] == [["none"], ["seeds"], ["full"]]
    assert json.loads(plans["0.json"])["settings"]["tf"] == "2.8" and plans["0.name"] == "tf2.8-h100-none"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    [container] = pod["containers"]
    assert container["resources"] == {"requests": {"cpu": "4", "memory": "16Gi"},  # Guaranteed QoS
                                      "limits": {"nvidia.com/gpu": 1, "cpu": "4", "memory": "16Gi"}}
    assert all(volume["emptyDir"]["sizeLimit"] for volume in pod["volumes"] if "emptyDir" in volume)
    assert container["image"] == "registry.lab.example/ml/repro-bench/worker:tf2.8-gpu"
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a" and spec["suspend"] is True
    rules = spec["podFailurePolicy"]["rules"]
    assert rules[0]["action"] == "Ignore" and rules[1] == {"action": "FailIndex", "onExitCodes": {
        "containerName": "trials", "operator": "In", "values": [2]}}
    assert spec["activeDeadlineSeconds"] == 1800
    policy = manifests["networkpolicy.json"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"repro-bench/run": "lab"}} and "ingress" not in policy


def test_status_reads_each_index_from_the_api():
    recorded = json.loads((GOLDEN / "status.json").read_text())
    rows = k8s.status(recorded["jobs"], recorded["configmaps"])
    assert [(row["shard"], row["state"]) for row in rows] == [
        ("tf2.8-h100-none", "succeeded"), ("tf2.8-h100-seeds", "active"), ("tf2.8-h100-full", "failed"),
        ("tf2.21-h100-none", "suspended"), ("tf2.21-h100-seeds", "suspended")]
    assert k8s.indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}


@pytest.mark.parametrize("change, phrase", [
    (["--gpu-types", "h100"], "give NAME=PRODUCT"),
    (["--gpu-types", "h100=A,h100=B"], "names h100 twice"),
    (["--gpu-types", "H 100=x"], "give NAME=PRODUCT"),
    (["--claim", ""], "needs --claim"),
    (["--run", "Lab_1"], "a Kubernetes name"),
    (["--run", "a-run-name-so-long-that-its-job-names-cannot-be-kubernetes-names"], "63 characters"),
    (["--until", "5%"], "--until needs bench run"),
    (["--tf", ""], "give --tf"),
    (["--queue", "bad queue"], "a Kueue LocalQueue name"),
    (["--namespace", "Bad_NS"], "a Kubernetes namespace"),
    (["--pod-memory", "lots"], "a Kubernetes quantity"),
])
def test_bad_input_is_one_line_and_writes_nothing(change, phrase, tmp_path):
    given = list(PLAN)
    for option, value in zip(change[::2], change[1::2]):
        if option in given:
            given[given.index(option) + 1] = value
        else:
            given += [option, value]
    done = bench_here(*given, "--dry-run", tmp_path / "out")
    assert done.returncode == 2 and phrase in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "out").exists()


def test_merge_without_results_is_one_line(tmp_path):
    (tmp_path / "shards" / "tf2.8-h100-none").mkdir(parents=True)
    done = bench_here("k8s", "merge", tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: ") and "no trial results" in done.stderr
    assert not (tmp_path / "table.md").exists()


def test_a_plan_too_big_for_one_job_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(k8s, "MAX_COMPLETIONS", 2)
    done = bench_here(*PLAN, "--dry-run", tmp_path / "out")
    assert done.returncode == 2 and "completions" in done.stderr and not (tmp_path / "out").exists()
