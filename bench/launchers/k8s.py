"""A plan on Kubernetes: an Indexed Job per TF version and GPU type, queued by Kueue if asked.

The shards are Slurm's (bench.launchers.slurm: TF version x GPU type, cut by config where one
would outrun the time limit), each a plan document. Per TF version and GPU type, one
ConfigMap holds its shards' plans (``<index>.json``) and folder names (``<index>.name``),
and one Indexed Job (``completionMode: Indexed``) runs them: the Pod of index i runs
``python3 -m bench.runner.batch --plan /plans/<i>.json`` in the version's worker image, on one
GPU of the type (``nvidia.com/gpu: 1``, node selector ``nvidia.com/gpu.product``), into
``runs/<run>/shards/<shard>`` on the results volume (a ReadWriteMany PersistentVolumeClaim:
runs of a team share it, each in its own folder). The volume also holds the dataset (``bench
data --out <volume>/dataset``, mounted read-only as Keras' cache) and the CUDA JIT cache per
version and GPU type. Each Pod may run for the time limit (its own activeDeadlineSeconds: a
Pod waiting for a GPU or Kueue does not spend it), and a retried Pod resumes its shard. Pods are sealed as the suite's containers
are: non-root, no privilege escalation, every capability dropped, a read-only root file
system with scratch in memory, and no network (a NetworkPolicy denying all traffic to and
from them). A failed Pod is retried per index (``backoffLimitPerIndex``), an evicted or
preempted one without counting (``podFailurePolicy``: DisruptionTarget ignored), an index
whose plan or data is unusable (exit 2) not at all. ``--queue`` adds Kueue's label and
creates the Jobs suspended, for Kueue to admit.

Manifests are JSON documents (JSON is YAML: ``kubectl apply -f DIR`` takes them). The merge
Job (``merge/``, the host image running ``bench k8s merge`` on the volume) is applied once the
shards are done: Kubernetes has no dependency between Jobs, and a merge that waited on the
volume would hold a Pod while Kueue queues the shards. The state of a run as the API tells it,
and its resubmission, are bench.launchers.k8s_state's.
"""

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from bench.engines import images
from bench.environments.catalog import versions
from bench.errors import UsageError
from bench.launchers import slurm
from bench.runner.run_plan import RunPlan

# Kubernetes' limits that a plan runs into: an Indexed Job's completions, a name's length.
MAX_COMPLETIONS = 100_000
MAX_NAME = 63
# kubectl apply keeps the object in an annotation, and annotations hold at most 256 KiB together.
MAX_CONFIG_MAP_BYTES = 200_000
# Memory scratch (emptyDir, medium Memory) counts against the Pod's memory limit.
MIN_POD_MEMORY_BYTES = 2 * 2**30
RUNS = "runs"                                   # the volume's folder of runs: runs/<run>/shards/<shard>
RESULTS, PLANS, EXPERIMENT_DIR = "/results", "/plans", "/experiment"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"     # NVIDIA GPU feature discovery
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_API = "kueue.x-k8s.io/v1beta2"           # the storage version of Kueue v0.19.2's CRDs (v1beta1 deprecated)
RUN_LABEL = "repro-bench/run"
JOB_LABEL = "repro-bench/job"                   # the Job a resubmission retries: its name stays the first one's
MERGE_FOLDER = "merge"
MERGE_RESOURCES = {"cpu": "1", "memory": "2Gi"}
INDEX_RETRIES = 2
UNUSABLE_EXIT = 2                               # the batch's exit status for an unusable plan or dataset
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@dataclass
class Cluster:
    """Where the Jobs go: GPU types (short name -> product label), the results volume's claim,
    the registry the worker images are pushed to, and the time each shard may take."""
    gpu_types: dict[str, str]
    claim: str
    registry: str
    run: str                       # the run's name: Jobs, ConfigMaps and labels carry it
    namespace: str | None = None
    queue: str | None = None
    time_limit: str = "1:00:00"
    parallelism: int | None = None   # Pods of one Job at once (None: all its shards); Kueue admits this many together
    trial_seconds: float = 120.0
    cpus: str = "4"                  # requested and limited alike: a GPU Pod of Guaranteed QoS, timings undisturbed
    memory: str = "16Gi"


def parse_gpu_types(text: str) -> dict[str, str]:
    """--gpu-types h100=NVIDIA-H100-80GB-HBM3,a100=NVIDIA-A100-SXM4-80GB: short name -> the
    node label's value (what GPU feature discovery writes as nvidia.com/gpu.product)."""
    found = {}
    for item in (part.strip() for part in text.split(",") if part.strip()):
        name, _, product = item.partition("=")
        if not product or not NAME.match(name) or not LABEL_VALUE.match(product):
            raise UsageError(f"--gpu-types {item!r}: give NAME=PRODUCT, e.g. h100=NVIDIA-H100-80GB-HBM3 (NAME in "
                             f"lower case letters, digits and '-'; PRODUCT as the node label {GPU_PRODUCT_LABEL} has it: "
                             f"at most {MAX_NAME} letters, digits, '-', '_' and '.')")
        if name in found:
            raise UsageError(f"--gpu-types names {name} twice")
        found[name] = product
    if not found:
        raise UsageError("--gpu-types needs at least one NAME=PRODUCT, e.g. h100=NVIDIA-H100-80GB-HBM3")
    return found


def shards(chosen: RunPlan, cluster: Cluster, configs: list[str], protocols: dict[str, int],
           workloads: list) -> list[slurm.Shard]:
    """The plan's shards, as bench slurm cuts them (every one on a GPU type)."""
    cut = slurm.Cluster(time_limit=cluster.time_limit, trial_seconds=cluster.trial_seconds,
                        gpu_types=list(cluster.gpu_types))
    return slurm.shards(cut, chosen, configs, protocols, workloads)


def manifests(chosen: RunPlan, cluster: Cluster, found: list[slurm.Shard]) -> dict[str, dict]:
    """File name -> manifest: a ConfigMap and an Indexed Job per (TF version, GPU type), and
    the NetworkPolicy that keeps the run's Pods off the network."""
    _check_names(cluster, found)
    documents = {"networkpolicy.json": _network_policy(cluster)}
    groups: dict[tuple, list] = {}
    for shard in found:
        groups.setdefault((shard.version, shard.gpu_type), []).append(shard)
    for (version, gpu_type), members in groups.items():
        if len(members) > MAX_COMPLETIONS:
            raise UsageError(f"TF {version} on {gpu_type}: {len(members)} shards, more than an Indexed Job's "
                             f"{MAX_COMPLETIONS} completions; raise --time-limit or lower --repeats")
        name = job_name(cluster, version, gpu_type)
        plans = {}
        for index, shard in enumerate(members):
            plans[f"{index}.json"] = json.dumps(_shard_plan(chosen, shard).to_json(), sort_keys=True)
            plans[f"{index}.name"] = shard.name
        if chosen.experiment:
            plans[_experiment_key(chosen.experiment)] = open(chosen.experiment).read()
        size = sum(len(key) + len(value.encode()) for key, value in plans.items())
        if size > MAX_CONFIG_MAP_BYTES:
            raise UsageError(f"the plans of {name} would be {size:,} bytes in one ConfigMap, more than kubectl apply "
                             f"takes ({MAX_CONFIG_MAP_BYTES:,}): a smaller experiment file, or fewer shards per Job "
                             "(a longer --time-limit)")
        documents[f"{name}.configmap.json"] = _config_map(cluster, name, plans)
        documents[f"{name}.job.json"] = _job(chosen, cluster, name, version, gpu_type, len(members))
    documents[f"{MERGE_FOLDER}/{cluster.run}-merge.job.json"] = merge_job(cluster)
    if cluster.queue:
        documents.update(kueue_objects(cluster, {key: len(members) for key, members in groups.items()}))
    return documents


def job_name(cluster: Cluster, version: str | None, gpu_type: str | None) -> str:
    return f"{cluster.run}-tf{(version or 'local').replace('.', '-')}-{gpu_type}"


# The sealing of the suite's containers (bench.backends.docker_backend.SEALED), as Kubernetes writes it.
_SEALED_POD = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
               # Not every Pod start re-owns the whole shared volume, other runs' files included.
               "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}}
_SEALED_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
MERGE_DEADLINE = 1800
# A DNS subdomain (RFC 1123): what Kubernetes takes as a claim's or a LocalQueue's name.
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
QUANTITY_UNITS = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
                  "Ti": 2**40, None: 1}
# An image reference's repository part, as Docker takes it: host[:port]/path, lower case, no scheme.
REGISTRY = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([-._a-z0-9]*[a-z0-9])?)*$")
CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def run_folder(volume, run: str):
    """A run's folder on the results volume (as mounted wherever ``volume`` is): shards/ and the tables."""
    return volume / RUNS / run


def quantity(text: str) -> float:
    """A Kubernetes quantity (4, 500m, 16Gi) as a number (of CPUs, of bytes)."""
    number, _, unit = QUANTITY.match(text).groups()
    return float(number) * QUANTITY_UNITS[unit]


def check_run(run: str, namespace: str | None) -> None:
    """A run's name and namespace as Kubernetes takes them (names, labels and label selectors)."""
    if not NAME.match(run) or len(run) > MAX_NAME:
        raise UsageError(f"--run {run!r}: a Kubernetes name: lower case letters, digits and '-', at most {MAX_NAME}")
    if namespace is not None and (not NAME.match(namespace) or len(namespace) > MAX_NAME):
        raise UsageError(f"--namespace {namespace!r}: a Kubernetes namespace: lower case letters, digits and '-', "
                         f"at most {MAX_NAME}")


def parallel(completions: int, limit: int | None) -> int:
    """The Pods of a Job at once: all its shards, or --parallelism where it is lower."""
    return min(completions, limit or completions)


def _check_names(cluster: Cluster, found: list[slurm.Shard]) -> None:
    check_run(cluster.run, cluster.namespace)
    if cluster.queue is not None and (not SUBDOMAIN.match(cluster.queue) or len(cluster.queue) > MAX_NAME):
        raise UsageError(f"--queue {cluster.queue!r}: a Kueue LocalQueue name: lower case letters, digits, '-' and "
                         f"'.', at most {MAX_NAME} (a label value and a Kubernetes name)")
    if not SUBDOMAIN.match(cluster.claim) or len(cluster.claim) > 253:
        raise UsageError(f"--claim {cluster.claim!r}: a PersistentVolumeClaim's name: lower case letters, digits, "
                         "'-' and '.'")
    if not REGISTRY.match(cluster.registry.rstrip("/")):
        raise UsageError(f"--registry {cluster.registry!r}: where images are pulled from, as an image name starts: "
                         "host[:port]/path in lower case, no https://, e.g. registry.lab.example/ml")
    for option, value in (("--cpus", cluster.cpus), ("--pod-memory", cluster.memory)):
        if not QUANTITY.match(value):
            raise UsageError(f"{option} {value!r}: a Kubernetes quantity, e.g. 4 or 500m (CPUs), 16Gi (memory)")
    if quantity(cluster.cpus) < 1e-3:
        raise UsageError(f"--cpus {cluster.cpus}: at least 1m (a thousandth of a CPU); a trial wants whole CPUs")
    if quantity(cluster.memory) < MIN_POD_MEMORY_BYTES:
        raise UsageError(f"--pod-memory {cluster.memory}: at least 2Gi (the Pod's memory scratch, over 1Gi, counts "
                         "against it, and TensorFlow needs the rest)")
    if any(shard.version is None for shard in found):
        raise UsageError("bench k8s runs the worker image of each TF version: give --tf, e.g. --tf 2.8,2.21")
    longest = max((job_name(cluster, shard.version, shard.gpu_type) for shard in found), key=len)
    if len(longest) > MAX_NAME:
        raise UsageError(f"--run {cluster.run}: Job names such as {longest} pass Kubernetes' {MAX_NAME} "
                         "characters; give a shorter --run")


def _experiment_key(path: str) -> str:
    name = PurePosixPath(path).name
    if not CONFIG_MAP_KEY.match(name):
        raise UsageError(f"--experiment {path}: its file name becomes a ConfigMap key, which takes letters, digits, "
                         f"'-', '_' and '.' only: rename the file")
    return name


def _shard_plan(chosen: RunPlan, shard: slurm.Shard) -> RunPlan:
    """The shard's plan as its Pod reads it: the image's interpreter, the experiment file
    where the ConfigMap puts it, one machine name per GPU type."""
    experiment = f"{EXPERIMENT_DIR}/{PurePosixPath(chosen.experiment).name}" if chosen.experiment else None
    narrowed = slurm.shard_plan(chosen, shard)  # the shard's version, configs and GPU overlap, as Slurm's
    return narrowed.replace(experiment=experiment, python="python3", backend="docker", variant="gpu",
                            envs_dir=None, pythonpath=None, machine=f"k8s-{shard.gpu_type}")


def _labels(cluster: Cluster) -> dict:
    return {"app.kubernetes.io/name": "repro-bench", RUN_LABEL: cluster.run}


def _metadata(cluster: Cluster, name: str, extra: dict | None = None) -> dict:
    metadata = {"name": name, "labels": {**_labels(cluster), **(extra or {})}}
    if cluster.namespace:
        metadata["namespace"] = cluster.namespace
    return metadata


def _config_map(cluster: Cluster, name: str, plans: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(cluster, f"{name}-plans"), "data": plans}


def _network_policy(cluster: Cluster) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _metadata(cluster, f"{cluster.run}-no-network"),
            "spec": {"podSelector": {"matchLabels": {RUN_LABEL: cluster.run}},
                     "policyTypes": ["Ingress", "Egress"]}}  # no rules: nothing in, nothing out


def _job(chosen: RunPlan, cluster: Cluster, name: str, version: str, gpu_type: str, completions: int) -> dict:
    image = f"{cluster.registry.rstrip('/')}/{images.image_name(versions()[version], 'gpu')}"
    target = f"tf{version}-gpu"
    # An experiment file's own load_data, unless --dataset names the suite's data (bench.environments.datasets.for_plan).
    own_data = chosen.experiment and chosen.dataset == "auto"
    dataset = "" if own_data else f" --dataset-spec {images.CONTAINER_DATA_DIR}/dataset.json"
    command = (f"exec python3 -m bench.runner.batch --plan {PLANS}/$JOB_COMPLETION_INDEX.json --out "
               f"{RESULTS}/{RUNS}/{cluster.run}/shards/$(cat {PLANS}/$JOB_COMPLETION_INDEX.name) --target {target}{dataset}")
    scratch = [{"name": f"scratch-{index}", "mountPath": path} for index, path in enumerate(images.TRIAL_TMPFS)]
    container = {
        "name": "trials", "image": image, "command": ["sh", "-c", command],
        "env": [{"name": "BENCH_DEVICE", "value": "gpu"}, {"name": "BENCH_IMAGE", "value": image},
                {"name": "CUDA_CACHE_PATH", "value": images.CONTAINER_CUDA_CACHE_DIR},
                # Each trial records its Pod and node (bench.runner.batch.KUBERNETES_POD), from the downward API.
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                *({"name": key, "value": value} for key, value in images.TRIAL_ENVIRONMENT.items())],
        "resources": {"requests": {"cpu": cluster.cpus, "memory": cluster.memory},
                      "limits": {"nvidia.com/gpu": 1, "cpu": cluster.cpus, "memory": cluster.memory}},
        "securityContext": _SEALED_CONTAINER,
        "volumeMounts": [{"name": "results", "mountPath": RESULTS},
                         {"name": "results", "mountPath": images.CONTAINER_DATA_DIR, "subPath": "dataset",
                          "readOnly": True},
                         {"name": "results", "mountPath": images.CONTAINER_CUDA_CACHE_DIR,
                          "subPath": f"cuda-cache/tf{version}-{gpu_type}"},  # PTX JIT'ed for this GPU
                         {"name": "plans", "mountPath": PLANS, "readOnly": True}, *scratch]}
    if chosen.experiment:
        container["volumeMounts"].append({"name": "plans", "mountPath": f"{EXPERIMENT_DIR}/{PurePosixPath(chosen.experiment).name}",
                                          "subPath": PurePosixPath(chosen.experiment).name, "readOnly": True})
    pod = {"metadata": {"labels": _labels(cluster)},
           "spec": {"restartPolicy": "Never", "nodeSelector": {GPU_PRODUCT_LABEL: cluster.gpu_types[gpu_type]},
                    # Per Pod, from its start: a Pod waiting for a node or for Kueue does not spend it.
                    "activeDeadlineSeconds": int(slurm.parse_time(cluster.time_limit)),
                    # GPU nodes are often tainted so that only GPU Pods land there (what the
                    # ExtendedResourceToleration admission plugin adds, where it is on).
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "automountServiceAccountToken": False,
                    "securityContext": _SEALED_POD,
                    "containers": [container],
                    "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": cluster.claim}},
                                {"name": "plans", "configMap": {"name": f"{name}-plans"}},
                                *({"name": f"scratch-{index}", "emptyDir": {"medium": "Memory",
                                                                             "sizeLimit": _size(options)}}
                                  for index, options in enumerate(images.TRIAL_TMPFS.values()))]}}
    spec = {"completionMode": "Indexed", "completions": completions,
            "parallelism": parallel(completions, cluster.parallelism),
            "backoffLimitPerIndex": INDEX_RETRIES, "maxFailedIndexes": completions,
            "podFailurePolicy": {"rules": [
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},  # evicted
                {"action": "FailIndex", "onExitCodes": {"containerName": "trials", "operator": "In",
                                                        "values": [UNUSABLE_EXIT]}}]},
            "template": pod}
    return _queued(cluster, {"apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(cluster, name, {JOB_LABEL: name}),
                             "spec": spec})


def merge_job(cluster: Cluster) -> dict:
    """The Job that checks the shards on the volume and writes table.md/json and report.html
    there: the host image (no GPU, no network), as ``bench k8s merge /results`` on a laptop."""
    name = f"{cluster.run}-merge"
    container = {"name": "merge", "image": f"{cluster.registry.rstrip('/')}/{images.HOST_IMAGE}",
                 "args": ["k8s", "merge", f"{RESULTS}/{RUNS}/{cluster.run}"],  # the image's entrypoint: python3 -m bench
                 "env": [{"name": "HOME", "value": "/tmp"}, {"name": "TMPDIR", "value": "/tmp"}],
                 "resources": {"requests": dict(MERGE_RESOURCES), "limits": dict(MERGE_RESOURCES)},
                 "securityContext": _SEALED_CONTAINER,
                 "volumeMounts": [{"name": "results", "mountPath": RESULTS}, {"name": "scratch", "mountPath": "/tmp"}]}
    pod = {"metadata": {"labels": _labels(cluster)},
           "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False,
                    "securityContext": _SEALED_POD, "containers": [container],
                    "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": cluster.claim}},
                                {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}}]}}
    # Not retried: a merge fails on what the shards hold (check.txt on the volume says what), not by chance.
    spec = {"backoffLimit": 0, "activeDeadlineSeconds": MERGE_DEADLINE, "template": pod}
    # Not queued: one small CPU Pod, which Kueue leaves alone without its label (manageJobsWithoutQueueName: false).
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(cluster, name, {JOB_LABEL: name}),
            "spec": spec}


def kueue_objects(cluster: Cluster, shards_per_job: dict[tuple, int]) -> dict[str, dict]:
    """For a cluster whose admin has not set Kueue up for these GPUs: a ResourceFlavor per GPU
    type (its node label), a ClusterQueue covering them with quotas for this run's Pods all at
    once (an admin sets the real ones), and the LocalQueue --queue names. Written beside the
    manifests (kueue/), never applied by --apply: they are cluster-wide objects. ``shards_per_job``:
    (TF version, GPU type) -> how many shards that Job runs."""
    pods = {gpu_type: sum(parallel(count, cluster.parallelism) for (_, of_type), count in shards_per_job.items()
                          if of_type == gpu_type) for gpu_type in cluster.gpu_types}
    flavors = {f"kueue/{name}.resourceflavor.json": {
        "apiVersion": KUEUE_API, "kind": "ResourceFlavor", "metadata": {"name": name, "labels": _labels(cluster)},
        "spec": {"nodeLabels": {GPU_PRODUCT_LABEL: product}}} for name, product in cluster.gpu_types.items()}
    cluster_queue = {"apiVersion": KUEUE_API, "kind": "ClusterQueue",
                     "metadata": {"name": cluster.queue, "labels": _labels(cluster)},
                     "spec": {"namespaceSelector": {}, "resourceGroups": [{
                         "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                         "flavors": [{"name": name, "resources": [
                             {"name": "cpu", "nominalQuota": _times(cluster.cpus, pods[name])},
                             {"name": "memory", "nominalQuota": _times(cluster.memory, pods[name])},
                             {"name": "nvidia.com/gpu", "nominalQuota": pods[name]}]}
                             for name in cluster.gpu_types]}]}}
    local_queue = {"apiVersion": KUEUE_API, "kind": "LocalQueue", "metadata": _metadata(cluster, cluster.queue),
                   "spec": {"clusterQueue": cluster.queue}}
    return {**flavors, f"kueue/{cluster.queue}.clusterqueue.json": cluster_queue,
            f"kueue/{cluster.queue}.localqueue.json": local_queue}


def _times(given: str, count: int) -> str:
    """A Kubernetes quantity times a count, in its own unit (16Gi x 3 = 48Gi, 0.1 x 3 = 0.3)."""
    number, _, unit = QUANTITY.match(given).groups()
    return f"{float(number) * count:.6f}".rstrip("0").rstrip(".") + (unit or "")


def _queued(cluster: Cluster, job: dict) -> dict:
    """With --queue: Kueue's label, and created suspended for Kueue to admit."""
    if cluster.queue:
        job["metadata"]["labels"][QUEUE_LABEL] = cluster.queue
        job["spec"]["suspend"] = True
    return job


def _size(tmpfs_options: str) -> str:
    """A tmpfs size (size=1g) as a Kubernetes quantity (1Gi)."""
    size = dict(part.split("=", 1) for part in tmpfs_options.split(",") if "=" in part)["size"]
    return size[:-1] + {"k": "Ki", "m": "Mi", "g": "Gi"}[size[-1].lower()]
