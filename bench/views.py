"""The report's views of a set of results, each a Table.

* cells    one row per TF version x device x protocol x config (the detailed table);
* summary  one row per TF version x device: every config's verdict side by side, the
           mechanism each config applied, and what control cost;
* versions one row per TF version x config: where the same code and seed end up (final
           val_loss, val_accuracy, weights digest) and whether the previous version agrees.
"""

from dataclasses import asdict

from bench import cells as cells_module
from bench.cells import KEY_FIELDS, Cell, build_cells, known_limit, run_signature
from bench.tables import Table
from bench.worker.configurations import CONFIGS
from bench.worker.installed import version_tuple

VIEWS = ("cells", "summary", "versions")
HEADERS = {"tf_version": "TF", "device": "device", "framework": "framework", "model": "model",
           "dataset": "dataset", "epochs": "epochs", "samples": "samples", "batch_size": "batch",
           "protocol": "protocol", "config": "config", "trials": "trials", "identical": "identical",
           "verdict": "verdict", "fit_seconds_median": "fit s (median)",
           "overhead_vs_none": "overhead vs none"}
# Key fields shown as columns always; the others only when they vary within the table.
ALWAYS_SHOWN = ("tf_version", "device", "protocol")
CELLS_LEGEND = """\
Legend:
- identical k/n: process protocol, k = the largest group of trials (fresh processes) whose
  histories and final weights are bit-identical; in-process protocol, k = trials whose two runs
  in one process are bit-identical; n = trials in the cell, failed ones included.
- verdict: match = every trial identical; mismatch = some differ; error = a trial failed (listed
  below; never counted as a mismatch); unsupported = this TF build cannot run on this GPU;
  incomplete = fewer than two runs to compare.
- fit s (median): median wall time of model.fit over all runs of the cell.
- overhead vs none: that median divided by the median of the same cell under config none."""
SUMMARY_LEGEND = """\
Legend: each config column shows identical k/n and the verdict of the process protocol
(fresh processes); in-process columns show the article's loop (one process trains twice,
re-seeding before each model). seed API and determinism are what the trials recorded applying.
Overheads are median fit times relative to none (process protocol)."""
VERSIONS_LEGEND = """\
Legend: final val_loss and val_accuracy and the sha256 of the final weights (first 12 hex
digits) of the process-protocol trials; "varies" where the trials of a config differ (the
range is shown). "= previous": whether the weights equal those of the previous TF version's
row of the same config (same code, same seed, same data, same machine)."""


def build(view: str, results: list[dict]) -> Table:
    cells = build_cells(results)
    if view == "summary":
        return summary_table(cells, results)
    if view == "versions":
        return versions_table(results)
    return cells_table(cells)


def cells_table(cells: list[Cell]) -> Table:
    shown = [name for name in KEY_FIELDS
             if name in ALWAYS_SHOWN or len({getattr(cell, name) for cell in cells}) > 1]
    columns = shown + ["config", "trials", "identical", "verdict", "fit_seconds_median", "overhead_vs_none"]
    rows = [[_shown(name, getattr(cell, name), cell) for name in columns] for cell in cells]
    return Table(headers=[HEADERS[name] for name in columns], rows=rows,
                 records=[asdict(cell) for cell in cells], caption=_caption(cells, shown),
                 legend=CELLS_LEGEND, notes=_failure_notes(cells))


def summary_table(cells: list[Cell], results: list[dict]) -> Table:
    groups: dict[tuple, dict] = {}
    for cell in cells:
        groups.setdefault(_group_key(cell), {})[(cell.protocol, cell.config)] = cell
    mechanisms = _recorded_mechanisms(results)
    headers = ["TF", "device", "Python", "seed API", "determinism", *CONFIGS,
               *(f"in-process {config}" for config in CONFIGS), "fit s none", "seeds vs none", "full vs none"]
    rows, records = [], []
    for key, members in groups.items():
        tf_version, device = key[0], key[1]
        seed_api, determinism = mechanisms.get(tf_version, ("?", "?"))
        python = _python_of(results, tf_version)
        process = [members.get(("process", config)) for config in CONFIGS]
        in_process = [members.get(("in-process", config)) for config in CONFIGS]
        baseline = members.get(("process", "none"))
        rows.append([tf_version, device, python, seed_api, determinism,
                     *(_verdict(cell) for cell in process), *(_verdict(cell) for cell in in_process),
                     _seconds(baseline.fit_seconds_median if baseline else None),
                     _ratio(process[1]), _ratio(process[2])])
        records.append({"tf_version": tf_version, "device": device, "python": python,
                        "seed_api": seed_api, "determinism": determinism,
                        **{config: _record(cell) for config, cell in zip(CONFIGS, process)},
                        **{f"in-process {config}": _record(cell) for config, cell in zip(CONFIGS, in_process)}})
    return Table(headers=headers, rows=rows, records=records, caption=_caption(cells, ["tf_version", "device"]),
                 legend=SUMMARY_LEGEND, notes=_failure_notes(cells))


def versions_table(results: list[dict]) -> Table:
    groups: dict[tuple, list[dict]] = {}
    for result in results:
        if result["status"] == "ok" and result["spec"]["protocol"] == "process":
            key = cells_module.key_of(result)
            groups.setdefault(key, []).append(result)
    ordered = sorted(groups, key=lambda key: (key[1:-1], CONFIGS.index(key[-1]), version_tuple(key[0])))
    rows, records, previous = [], [], {}
    for key in ordered:
        runs = [result["runs"][0] for result in groups[key]]
        digests = {run["weights_sha256"] for run in runs}
        single = len({run_signature(run) for run in runs}) == 1
        digest = runs[0]["weights_sha256"][:12] if single else f"varies ({len(digests)})"
        lineage = key[1:]  # everything but the TF version: device, settings, protocol, config
        before = previous.get(lineage)
        same = "-" if before is None or not single or before is False else ("yes" if before == digest else "no")
        previous[lineage] = digest if single else False
        loss = [run["history"]["val_loss"][-1] for run in runs]
        accuracy = [run["history"]["val_accuracy"][-1] for run in runs]
        rows.append([key[0], key[1], key[-1], _spread(loss), _spread(accuracy), digest, same])
        records.append({"tf_version": key[0], "device": key[1], "config": key[-1], "val_loss": loss,
                        "val_accuracy": accuracy, "weights_sha256": sorted(digests), "same_as_previous": same})
    headers = ["TF", "device", "config", "val_loss", "val_accuracy", "weights", "= previous"]
    return Table(headers=headers, rows=rows, records=records, legend=VERSIONS_LEGEND)


def _group_key(cell: Cell) -> tuple:
    return tuple(getattr(cell, name) for name in KEY_FIELDS if name != "protocol")


def _recorded_mechanisms(results: list[dict]) -> dict[str, tuple[str, str]]:
    """TF version -> (seed API, determinism switch), as the full trials recorded them."""
    found = {}
    for result in results:
        if result["spec"]["config"] != "full" or not result["mechanism"]:
            continue
        lines = result["mechanism"]
        seed = next((line for line in lines if "seed" in line and "PYTHONHASHSEED" not in line), "")
        switch = next((line for line in lines if "DETERMINISTIC" in line or "determinism" in line), "")
        found[cells_module.key_of(result)[0]] = (
            "tf.keras.utils.set_random_seed" if "set_random_seed" in seed else
            "random + numpy + tf.random.set_seed" if seed else "?",
            switch.split(" (")[0] or "?")
    return found


def _python_of(results: list[dict], tf_version: str) -> str:
    versions = {r["software"].get("python") for r in results
                if cells_module.key_of(r)[0] == tf_version and r["software"].get("python")}
    return ", ".join(sorted(versions)) or "?"


def _verdict(cell: Cell | None) -> str:
    return "-" if cell is None else f"{cell.identical}/{cell.trials} {cell.verdict}"


def _record(cell: Cell | None) -> dict | None:
    return None if cell is None else {"identical": cell.identical, "trials": cell.trials, "verdict": cell.verdict,
                                      "fit_seconds_median": cell.fit_seconds_median,
                                      "overhead_vs_none": cell.overhead_vs_none}


def _ratio(cell: Cell | None) -> str:
    return "-" if cell is None or cell.overhead_vs_none is None else f"{cell.overhead_vs_none:.2f}x"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _spread(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.6f}" if low == high else f"varies {low:.4f}-{high:.4f}"


def _shown(name: str, value, cell: Cell) -> str:
    if name == "identical":
        return f"{value}/{cell.trials}"
    if name == "fit_seconds_median":
        return _seconds(value)
    if name == "overhead_vs_none":
        return "-" if value is None else f"{value:.2f}x"
    return "all" if value is None and name == "samples" else str(value)


def _caption(cells: list[Cell], shown: list[str]) -> str:
    shared = [name for name in KEY_FIELDS if name not in shown and name != "protocol"]
    if not cells or not shared:
        return ""
    first = cells[0]
    return "Same for every row: " + ", ".join(
        f"{HEADERS[name]} {_shown(name, getattr(first, name), first)}" for name in shared) + "."


def _failure_notes(cells: list[Cell]) -> list[str]:
    notes = []
    for cell in cells:
        if cell.verdict == "unsupported":
            notes.append(f"- TF {cell.tf_version} on {cell.device}: {known_limit(cell.tf_version)}")
        for error in cell.errors:
            message = error["message"].strip().splitlines()[0][:200] if error["message"].strip() else ""
            notes.append(f"- {error['trial_id']}: {error['status']}, {error['type'].rsplit('.', 1)[-1]}: {message}")
    return notes
