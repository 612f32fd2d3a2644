"""From trial results to cells (one TF version x device x ... x config) and their tables.

A cell pools only trials that agree on every key field; settings shared by the whole table
go into a caption line, settings that vary become columns.
"""

import csv
import io
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from tabulate import tabulate

from bench import catalog
from bench.errors import UserError
from bench.worker.configurations import CONFIGS
from bench.worker.installed import version_tuple

FORMATS = ("github", "plain", "csv", "json")
# Fields that identify what was measured; trials differing in any of them are never pooled.
KEY_FIELDS = ("tf_version", "device", "framework", "model", "dataset", "epochs", "samples",
              "batch_size", "protocol")
# Key fields shown as columns always; the others only when they vary within the table.
ALWAYS_SHOWN = ("tf_version", "device", "protocol")
HEADERS = {"tf_version": "TF", "device": "device", "framework": "framework", "model": "model",
           "dataset": "dataset", "epochs": "epochs", "samples": "samples", "batch_size": "batch",
           "protocol": "protocol", "config": "config", "trials": "trials", "identical": "identical",
           "verdict": "verdict", "fit_seconds_median": "fit s (median)",
           "overhead_vs_none": "overhead vs none"}
LEGEND = """\
Legend:
- identical k/n: process protocol, k = the largest group of trials (fresh processes) whose
  histories and final weights are bit-identical; in-process protocol, k = trials whose two runs
  in one process are bit-identical; n = trials in the cell, failed ones included.
- verdict: match = every trial identical; mismatch = some differ; error = a trial failed (listed
  below; never counted as a mismatch); unsupported = this TF build cannot run on this GPU;
  incomplete = fewer than two runs to compare.
- fit s (median): median wall time of model.fit over all runs of the cell.
- overhead vs none: that median divided by the median of the same cell under config none."""


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


def render(cells: list[Cell], fmt: str = "github") -> str:
    if fmt == "json":
        return json.dumps([asdict(cell) for cell in cells], indent=1)
    columns = _columns(cells)
    rows = [[_shown(name, getattr(cell, name), cell) for name in columns] for cell in cells]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_raw(getattr(cell, name)) for name in columns] for cell in cells])
        return out.getvalue()
    table = tabulate(rows, headers=[HEADERS[name] for name in columns], tablefmt=fmt,
                     disable_numparse=True)
    lines = [table, "", _caption(cells, columns), "", LEGEND]
    lines += _error_notes(cells)
    return "\n".join(lines) + "\n"


def _columns(cells: list[Cell]) -> list[str]:
    varying = [name for name in KEY_FIELDS
               if name in ALWAYS_SHOWN or len({getattr(cell, name) for cell in cells}) > 1]
    return varying + ["config", "trials", "identical", "verdict", "fit_seconds_median",
                      "overhead_vs_none"]


def _shown(name: str, value, cell: Cell) -> str:
    if name == "identical":
        return f"{value}/{cell.trials}"
    if name == "fit_seconds_median":
        return "-" if value is None else f"{value:.2f}"
    if name == "overhead_vs_none":
        return "-" if value is None else f"{value:.2f}x"
    return "all" if value is None and name == "samples" else str(value)


def _raw(value):
    return "" if value is None else value


def _caption(cells: list[Cell], columns: list[str]) -> str:
    shared = [name for name in KEY_FIELDS if name not in columns]
    if not cells or not shared:
        return ""
    first = cells[0]
    return "Same for every row: " + ", ".join(
        f"{HEADERS[name]} {_shown(name, getattr(first, name), first)}" for name in shared) + "."


def _error_notes(cells: list[Cell]) -> list[str]:
    notes = []
    for cell in cells:
        if cell.verdict == "unsupported":
            notes.append(f"- TF {cell.tf_version} on {cell.device}: {_known_limit(cell.tf_version)}")
        for error in cell.errors:
            message = error["message"].strip().splitlines()[0][:200] if error["message"].strip() else ""
            notes.append(f"- {error['trial_id']}: {error['status']}, {error['type'].rsplit('.', 1)[-1]}: {message}")
    return ["", "Failed trials:", *notes] if notes else []


def _known_limit(tf_version: str) -> str:
    """What the catalog knows of this version's GPU limits, to explain an unsupported cell."""
    try:
        reason = catalog.lookup(tf_version).gpu_limits.get("reason")
    except UserError:
        reason = None
    return f"known limit: {reason}" if reason else "no known limit recorded in the catalog"
