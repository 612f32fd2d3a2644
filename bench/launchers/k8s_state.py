"""A run on Kubernetes as the API tells it: each shard's state, and the Jobs that run again
the shards that did not succeed.

Input is what ``kubectl get jobs,configmaps -l repro-bench/run=RUN -o json`` returns (the API's
List objects). A shard is named by its index's ``<index>.name`` in the Job's ConfigMap; a shard
may appear in several Jobs (the first one and its resubmissions), and has succeeded when any of
them completed its index. Resubmission reads the shard plans from the ConfigMaps, so it needs
nothing but the API: not the options of the first submission, not the volume.
"""

import copy
import re

from bench.errors import UserError
from bench.launchers.k8s import JOB_LABEL, MAX_NAME, QUEUE_LABEL, RUN_LABEL, parallel

SHARD_FILE = re.compile(r"^(\d+)\.(json|name)$")
WAITING = ("active", "pending", "suspended")


def indexes(text: str | None) -> set[int]:
    """The indexes of a Job's status field ("0-2,5"), as a set."""
    found = set()
    for part in (text or "").split(","):
        if "-" in part:
            low, high = part.split("-")
            found.update(range(int(low), int(high) + 1))
        elif part.strip():
            found.add(int(part))
    return found


def finished(job: dict) -> bool:
    """The Job is over: Complete or Failed (its deadline passed, or an index failed for good)."""
    return any(condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True"
               for condition in job.get("status", {}).get("conditions", []))


def status(jobs: dict, config_maps: dict) -> list[dict]:
    """One row per Job and index: succeeded, failed, active (running or about to), pending, or
    suspended (queued by Kueue, not admitted yet)."""
    plans = _plans(config_maps)
    rows = []
    for job in jobs.get("items", []):
        name, spec, state = job["metadata"]["name"], job.get("spec", {}), job.get("status", {})
        if spec.get("completionMode") != "Indexed":
            continue  # the merge Job: merge_state's
        if name not in plans:
            raise UserError(f"the Job {name} has no ConfigMap {name}-plans (deleted?): its shards cannot be named; "
                            "submit the run again with bench k8s --out VOLUME")
        done, failed = indexes(state.get("completedIndexes")), indexes(state.get("failedIndexes"))
        over = finished(job)
        ended = next((condition.get("reason") or condition["type"] for condition in state.get("conditions", [])
                      if condition.get("type") == "Failed" and condition.get("status") == "True"), None)
        for index in range(spec.get("completions", 0)):
            shard = plans[name].get(f"{index}.name", f"index {index}")
            # The API counts active Pods, not which indexes they run: "active" for the rest while any is.
            # An index neither done nor failed in a finished Job ran out of time (activeDeadlineSeconds).
            phase = ("succeeded" if index in done else "failed" if index in failed or over else
                     "suspended" if spec.get("suspend") else "active" if state.get("active") else "pending")
            # Why it failed, as far as the Job says: its index failed (the Pods' exit or deadline), or the Job ended.
            why = f"{name}: index failed" if index in failed else f"{name}: {ended or 'ended'}" if over else None
            rows.append({"job": name, "index": index, "shard": shard, "state": phase, "why": why})
    return rows


def merge_state(jobs: dict) -> str | None:
    """The merge Job's state, if it was applied: succeeded, failed, suspended or running."""
    for job in jobs.get("items", []):
        if job.get("spec", {}).get("completionMode") != "Indexed":
            state = job.get("status", {})
            return ("succeeded" if state.get("succeeded") else "failed" if finished(job) else
                    "suspended" if job["spec"].get("suspend") else "running")
    return None


def shards(rows: list[dict]) -> dict[str, str]:
    """Each shard's state over every Job that ran it: succeeded if one did, else waiting
    (active, pending, suspended) while one may still run it, else failed."""
    found: dict[str, str] = {}
    for row in rows:
        before, now = found.get(row["shard"]), row["state"]
        if before is None or now == "succeeded" or (now in WAITING and before == "failed"):
            found[row["shard"]] = now
    return found


def resubmission(jobs: dict, config_maps: dict) -> dict[str, dict]:
    """File name -> manifest: for each Job with failed shards that no Job has succeeded nor
    may still run, a ConfigMap of those shards' plans and a Job that runs them, a copy of the
    first Job's spec (its Pod template as submitted, the server's own fields taken out)."""
    plans, states = _plans(config_maps), shards(status(jobs, config_maps))
    items = [job for job in jobs.get("items", []) if job.get("spec", {}).get("completionMode") == "Indexed"]
    rounds = [_round(job) for job in items]
    documents = {}
    for job in items:
        name = job["metadata"]["name"]
        data = plans.get(name, {})
        again = [index for index in range(job.get("spec", {}).get("completions", 0))
                 if states.get(data.get(f"{index}.name")) == "failed"
                 and not _retried_elsewhere(data.get(f"{index}.name"), job, items, plans)]
        if not again:
            continue
        lacking = [index for index in again if f"{index}.json" not in data]
        if lacking:  # the cluster's state, not the user's input
            raise UserError(f"the ConfigMap {name}-plans holds no plan for index {lacking[0]}: it was not written by "
                            "bench k8s; submit the run again with bench k8s --out VOLUME")
        first = job["metadata"].get("labels", {}).get(JOB_LABEL, name)
        retry = f"{first}-r{max(rounds) + 1}"
        if len(retry) > MAX_NAME:
            raise UserError(f"a resubmission of {first} would be named {retry}, more than Kubernetes' {MAX_NAME} "
                            "characters; submit the run again with a shorter --run and --out VOLUME")
        chosen = {f"{new}.{kind}": data[f"{old}.{kind}"] for new, old in enumerate(again) for kind in ("json", "name")}
        chosen.update({key: value for key, value in data.items() if not SHARD_FILE.match(key)})  # the experiment
        documents[f"{retry}.configmap.json"] = {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {**_metadata_of(job, f"{retry}-plans"), "labels": _our_labels(job)}, "data": chosen}
        documents[f"{retry}.job.json"] = _retry_job(job, retry, len(again))
    return documents


def _retried_elsewhere(shard: str | None, job: dict, items: list[dict], plans: dict) -> bool:
    """Another Job, resubmitted after this one, holds the shard: that Job's failure is retried, not this one's."""
    return any(other is not job and _round(other) > _round(job) and shard in plans.get(other["metadata"]["name"], {}).values()
               for other in items)


def _round(job: dict) -> int:
    """0 for a first Job, n for its n-th resubmission (name ending -rN)."""
    name, first = job["metadata"]["name"], job["metadata"].get("labels", {}).get(JOB_LABEL)
    match = re.fullmatch(re.escape(first) + r"-r(\d+)", name) if first else None
    return int(match.group(1)) if match else 0


def _plans(config_maps: dict) -> dict[str, dict]:
    """Job name -> its ConfigMap's data."""
    return {item["metadata"]["name"].removesuffix("-plans"): item.get("data", {})
            for item in config_maps.get("items", [])}


def _metadata_of(job: dict, name: str) -> dict:
    metadata = {"name": name}
    if job["metadata"].get("namespace"):
        metadata["namespace"] = job["metadata"]["namespace"]
    return metadata


def _our_labels(job: dict) -> dict:
    """The labels bench k8s set (not those a controller added)."""
    return {key: value for key, value in job["metadata"].get("labels", {}).items()
            if key.startswith("repro-bench/") or key in ("app.kubernetes.io/name", QUEUE_LABEL)}


# What a Job's spec holds as bench k8s wrote it; the rest (selector, podReplacementPolicy, ...) is the server's.
SUBMITTED_SPEC = ("completionMode", "backoffLimit", "backoffLimitPerIndex", "activeDeadlineSeconds",
                  "podFailurePolicy", "template")


def _retry_job(job: dict, name: str, completions: int) -> dict:
    spec = {key: copy.deepcopy(value) for key, value in job["spec"].items() if key in SUBMITTED_SPEC}
    template = spec["template"]
    template["metadata"] = {"labels": {key: value for key, value in template.get("metadata", {}).get("labels", {}).items()
                                       if key == RUN_LABEL or key == "app.kubernetes.io/name"}}
    for volume in template["spec"].get("volumes", []):
        if "configMap" in volume and volume["configMap"].get("name") == f"{job['metadata']['name']}-plans":
            volume["configMap"]["name"] = f"{name}-plans"
    # As many Pods at once as the first Job ran (--parallelism): what Kueue's quota was sized for.
    spec.update(completions=completions, parallelism=parallel(completions, job["spec"].get("parallelism")),
                maxFailedIndexes=completions)
    labels = _our_labels(job)
    if QUEUE_LABEL in labels:
        spec["suspend"] = True  # Kueue admits it, as the first
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {**_metadata_of(job, name), "labels": labels},
            "spec": spec}
