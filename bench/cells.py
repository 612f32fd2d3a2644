"""From trial results to cells: one TF version x device x ... x protocol x config each.

A cell pools only trials that agree on every key field; its verdict says whether they
reproduced, its timing what the control cost.
"""

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench import catalog
from bench.errors import UserError
from bench.worker.configurations import CONFIGS
from bench.worker.installed import version_tuple

# Fields that identify what was measured; trials differing in any of them are never pooled.
KEY_FIELDS = ("tf_version", "device", "framework", "model", "dataset", "epochs", "samples",
              "batch_size", "protocol")
@dataclass
class Cell:
    tf_version: str
    device: str
    framework: str
    model: str
    dataset: str
    epochs: int
    samples: int | None
    batch_size: int
    protocol: str
    config: str
    trials: int = 0
    ok: int = 0
    identical: int = 0
    distinct: int = 0
    verdict: str = "incomplete"
    fit_seconds_median: float | None = None
    overhead_vs_none: float | None = None
    errors: list = field(default_factory=list)

    def key(self, config: str | None = None) -> tuple:
        return tuple(getattr(self, name) for name in KEY_FIELDS) + (config or self.config,)


def device_label(result: dict) -> str:
    device = result.get("device") or result.get("runner", {}).get("device") or {}
    if not device:
        return "?"
    return device["name"] if device["kind"] == "gpu" else f"CPU {device['name']}"


def key_of(result: dict) -> tuple:
    spec, runner = result["spec"], result.get("runner", {})
    values = {
        "tf_version": result.get("software", {}).get("tensorflow") or runner.get("tensorflow") or "?",
        "device": device_label(result),
        "framework": spec.get("framework", "tf.keras"),
        "model": spec.get("model", "mlp"),
        "dataset": spec["dataset"]["name"],
        "epochs": spec["epochs"],
        "samples": spec.get("samples"),
        "batch_size": spec.get("batch_size", 32),
        "protocol": spec["protocol"],
    }
    return tuple(values[name] for name in KEY_FIELDS) + (spec["config"],)


def run_signature(run: dict) -> str:
    """Two runs are identical when their histories and final weights are bit-identical."""
    return json.dumps(run["history"], sort_keys=True) + run["weights_sha256"]


def build_cells(results: list[dict]) -> list[Cell]:
    groups = defaultdict(list)
    for result in results:
        groups[key_of(result)].append(result)
    cells = {key: _cell(key, members) for key, members in groups.items()}
    for cell in cells.values():
        baseline = cells.get(cell.key("none"))
        if baseline and baseline.fit_seconds_median and cell.fit_seconds_median is not None:
            cell.overhead_vs_none = cell.fit_seconds_median / baseline.fit_seconds_median
    return sorted(cells.values(), key=_order)


def _cell(key: tuple, members: list[dict]) -> Cell:
    cell = Cell(*key)
    ok = [member for member in members if member["status"] == "ok"]
    cell.trials, cell.ok = len(members), len(ok)
    cell.errors = [{"trial_id": m["spec"]["trial_id"], "status": m["status"], **m["error"]}
                   for m in members if m["status"] != "ok"]
    runs = [run for member in ok for run in member["runs"]]
    cell.distinct = len({run_signature(run) for run in runs})
    if cell.protocol == "in-process":
        cell.identical = sum(run_signature(m["runs"][0]) == run_signature(m["runs"][1]) for m in ok)
        comparable = len(ok) >= 1
        all_identical = cell.identical == len(ok)
    else:
        counts = Counter(run_signature(run) for run in runs)
        cell.identical = max(counts.values(), default=0)
        comparable = len(ok) >= 2
        all_identical = cell.distinct == 1
    if cell.errors and all(error["status"] == "unsupported" for error in cell.errors) and not ok:
        cell.verdict = "unsupported"
    elif cell.errors:
        cell.verdict = "error"
    elif comparable:
        cell.verdict = "match" if all_identical else "mismatch"
    if runs:
        cell.fit_seconds_median = statistics.median(run["fit_seconds"] for run in runs)
    return cell


def _order(cell: Cell) -> tuple:
    return (version_tuple(cell.tf_version) if cell.tf_version != "?" else (), cell.tf_version,
            cell.device, cell.framework, cell.model, cell.dataset, cell.epochs, cell.samples or 0,
            cell.batch_size, cell.protocol != "process", cell.protocol, CONFIGS.index(cell.config))


def known_limit(tf_version: str) -> str:
    """What the catalog knows of this version's GPU limits, to explain an unsupported cell."""
    try:
        reason = catalog.lookup(tf_version).gpu_limits.get("reason")
    except UserError:
        reason = None
    return f"known limit: {reason}" if reason else "no known limit recorded in the catalog"
