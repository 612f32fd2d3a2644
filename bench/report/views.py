"""The report's views of a set of results, each a Table.

* cells    one row per TF version x device x protocol x config (the detailed table);
* summary  one row per TF version x device: every config's verdict side by side, the
           mechanism each config applied, and what control cost;
* versions one row per TF version x config: where the same code and seed end up (final
           val_loss, val_accuracy, weights digest) and whether the previous version agrees;
* devices  one row per cell measured on several device models (GPUs): each model's
           verdict and outcome, and whether the outcomes are bit-identical across models.
"""

from bench.report.cells import (ACCURACY_METRICS, KEY_DEFAULTS, KEY_FIELDS, LOSS_METRICS, Cell, build_cells, first_of,
                                known_limit, only_difference)
from bench.trial import floats
from bench.environments import catalog
from bench.report import stats
from bench.report.tables import Table
from bench.trial.configurations import CONFIGS, DEFAULT_CONFIGS
from bench.trial.installed import version_tuple

VIEWS = ("cells", "summary", "versions", "devices")
HEADERS = {"tf_version": "TF", "device": "device", "image": "image", "framework": "framework",
           "model": "model", "dataset": "dataset", "epochs": "epochs", "samples": "samples",
           "batch_size": "batch", "jit_compile": "jit_compile", "protocol": "protocol", "config": "config",
           "trials": "trials", "xla": "XLA",
           "identical": "identical", "distinct": "distinct", "verdict": "verdict",
           "weights_max_abs_diff": "max |Δw|", "val_loss_diff": "max |Δ val_loss|",
           "first_divergent_epoch": "diverges at epoch", "diagnosis": "first divergence",
           "epoch_seconds_median": "epoch s (median)",
           "epoch_seconds_iqr": "IQR", "timed_runs": "n", "overhead_vs_none": "vs none [95% CI]"}
# Key fields shown as columns always; the others only when they vary within the table.
ALWAYS_SHOWN = ("tf_version", "device", "protocol")
CELLS_LEGEND = """\
Legend:
- identical k/n: process protocol, k = the largest group of trials (fresh processes) whose
  histories and final weights are bit-identical; in-process protocol, k = trials whose two runs
  in one process are bit-identical; n = trials in the cell, failed ones included.
  distinct: how many different outcomes the runs of the cell produced.
- verdict: match = every trial identical; mismatch = some differ; error = a trial failed (listed
  below; never counted as a mismatch); unsupported = this TF build cannot run on this GPU;
  refused = op determinism stopped the trial (a random op without a seed, or an op without a
  deterministic kernel: listed below); incomplete = fewer than two runs to compare.
  How sure: match (≤45 %) = with these n identical runs, a further run differs at most 45 % of
  the time (95 % upper bound, exact binomial: 1 - 0.05^(1/n); 45 % for 5 runs, 26 % for 10, 5 %
  for 59; bench run --until RATE runs until it is below RATE); mismatch (largest 60 %, 15-95 %;
  1st at run 2) = the largest group of identical runs holds 60 % of them (95 % Clopper-Pearson
  interval 15-95 %), and run 2 was the first to differ. In-process: a trial (two runs in one
  process) is one comparison: mismatch (0/2 trials identical, 0-84 %; 1st at trial 1).
- max |Δw|, max |Δ val_loss|: the largest absolute difference between compared runs, over every
  final weight, and over every epoch's val_loss (the loss, for a model that never validates;
  JSON output: every metric); diverges at epoch: the first epoch whose metrics differ (bit for
  bit: identical NaNs are identical). "?" where the weights were not kept to compare, "-"
  where fewer than two runs were there to compare.
- epoch s: median steady-state epoch time (epochs after the first, which includes tracing and
  compilation), its IQR and the number of runs n (fit time where there is one epoch).
- vs none: that median divided by the one under config none, with a 95 % bootstrap interval;
  ns = not significant (the interval contains 1); n<5 = fewer than 5 timed runs on a side: no
  interval and no claim either way (more --repeats to measure it); XLA≠ = this cell and none
  were fitted by different compilers (XLA: what fit used, per run; jit_compile: the setting
  asked), so the ratio is not determinism's cost alone."""
SUMMARY_LEGEND = """\
Legend: each config column shows identical k/n and the verdict of the process protocol
(fresh processes), with how sure it is: match (≤45 %) = a further run differs at most 45 % of
the time (95 % upper bound from these n identical runs, exact binomial); mismatch (1st at 2) =
run 2 was the first to differ. In-process columns show the article's loop (one process trains
twice, re-seeding before each model). seed API and determinism are what the trials recorded applying.
Overheads: median steady-state epoch time relative to none (process protocol); ns = the
95 % bootstrap interval contains 1 (see the cells table for intervals); n<5 = fewer than 5
timed runs on a side: no interval, no claim either way. full vs none is as the
row ran (XLA≠: full and none were fitted by different compilers, as Keras >= 3.7 does on a GPU
under jit_compile auto); "same compiler" is the ratio where both used one compiler: the row's
own, or the row run with another --jit-compile."""
DIAGNOSES_LEGEND = """\
Legend: one row per pair of traced trials (fresh processes; never timed or pooled with the
cell's trials). phase: initialization = the variables differ before the first step; forward =
at that step the loss differs while every variable before it was identical; backward/update =
the loss is identical and the variables after the step differ; none = identical throughout.
epoch, step: where they part (step within the epoch). Variables in model order, then the
optimizer's, with the largest |Δ| of each at that step; max |Δ| later: at the last step both
kept. Tracing cost: median fit time of traced trials against the cell's own untraced ones."""
DEVICES_LEGEND = """\
Legend: one row per cell (version, workload, protocol, config) measured on several device
models. Each device: the stack its trials loaded (driver; CUDA runtime, cuDNN and cuBLAS as
the process loaded them; "PTX JIT" where the driver compiled PTX), identical k/n of its own
trials and its outcome (digest of the histories and final weights; "varies" where its own
trials differ). Identical across
devices: yes = every device reproduced itself and all gave the same bits; no = each
reproduced itself but the models differ; - = cannot say (a device's own trials differ).
Determinism is promised only on one GPU model: "no" is expected, "yes" is a finding."""
VERSIONS_LEGEND = """\
Legend: final val_loss and val_accuracy and the sha256 of the final weights (first 12 hex
digits) of the process-protocol trials; "varies" where the trials of a config differ (the
range is shown). "= previous": whether the weights equal those of the previous TF version's
row of the same config (same code, same seed, same data, same machine)."""


def build(view: str, results: list[dict], cells: list[Cell] | None = None) -> Table:
    """One view of the results, made from their cells alone (``cells``: build_cells(results),
    where the caller has them already)."""
    cells = build_cells(results) if cells is None else cells
    return {"summary": summary_table, "versions": versions_table, "devices": devices_table}.get(view, cells_table)(cells)


def cells_table(cells: list[Cell]) -> Table:
    shown = _key_columns(KEY_FIELDS, cells)
    columns = shown + ["config", "trials", "identical", "distinct", "verdict", "weights_max_abs_diff",
                       "val_loss_diff", "first_divergent_epoch", "epoch_seconds_median",
                       "epoch_seconds_iqr", "timed_runs", "overhead_vs_none"]
    if any(cell.diagnosis for cell in cells):  # bench diagnose was run on the folder
        columns.insert(columns.index("first_divergent_epoch") + 1, "diagnosis")
    if any(cell.xla in ("yes", "mixed") for cell in cells) or len({cell.xla for cell in cells} - {None}) > 1:
        columns.insert(columns.index("epoch_seconds_median"), "xla")  # where a compiler was there to differ
    rows = [[_shown(name, cell) for name in columns] for cell in cells]
    headers = {name: _header(name, cells) for name in columns}
    shared = _cold_start_notes(cells) + _split_notes(cells)  # the same on a terminal, said once there
    notes = _failure_notes(cells) + _warning_notes(cells) + shared
    brief = _brief_failure_notes(cells) + _brief_warning_notes(cells) + list(dict.fromkeys(shared))
    return Table(headers=list(headers.values()), rows=rows, records=[cell.record() for cell in cells],
                 caption=_caption(cells, shown), legend=CELLS_LEGEND, notes=notes, brief_notes=brief,
                 keys=len(shown) + 1, hidden=tuple(headers[name] for name in TERMINAL_HIDDEN if name in headers),
                 optional=tuple(headers[name] for name in TERMINAL_OPTIONAL if name in headers),
                 short={headers[name]: title for name, title in TERMINAL_TITLES.items() if name in headers})


# On a terminal (format terminal): the columns the cells table leaves to the files (identical
# k/n says the trials; the spread of the times and the loss's difference are details), those it
# drops, first to last, where the terminal is too narrow, and shorter titles.
TERMINAL_HIDDEN = ("trials", "distinct", "val_loss_diff", "epoch_seconds_iqr", "timed_runs")
TERMINAL_OPTIONAL = ("xla", "diagnosis", "first_divergent_epoch", "epoch_seconds_median", "weights_max_abs_diff")
TERMINAL_TITLES = {"first_divergent_epoch": "diverges\nat epoch", "epoch_seconds_median": "epoch s\n(median)",
                   "diagnosis": "first\ndivergence"}


def summary_table(cells: list[Cell]) -> Table:
    groups: dict[tuple, dict] = {}
    for cell in cells:
        groups.setdefault(_group_key(cell), {})[(cell.protocol, cell.config)] = cell
    grouping = [name for name in KEY_FIELDS if name != "protocol"]
    shown = _key_columns(grouping, cells)
    if all(cell.image.startswith("local") for cell in cells) and "image" in shown:
        shown.remove("image")  # the Python column says it all for local interpreters
    configs = [config for config in CONFIGS if config in DEFAULT_CONFIGS or any(c.config == config for c in cells)]
    compilers_differ = any(cell.overhead_same_compiler is False for cell in cells) or \
        len({cell.jit_compile for cell in cells}) > 1
    headers = [*(_header(name, cells) for name in shown), "Python", "seed API", "determinism", *configs,
               *(f"in-process {config}" for config in configs), "epoch s none", "seeds vs none", "full vs none",
               *(["full vs none, same compiler"] if compilers_differ else [])]
    rows, records = [], []
    for key, members in groups.items():
        values = dict(zip(grouping, key))
        full = next((cell for cell in (members.get(("process", "full")), members.get(("in-process", "full")))
                     if cell is not None and cell.seed_api is not None), None)
        seed_api, determinism = (full.seed_api, full.determinism) if full else ("-", "-")
        python = ", ".join(sorted({version for cell in members.values() for version in cell.pythons})) or "?"
        process = [members.get(("process", config)) for config in configs]
        in_process = [members.get(("in-process", config)) for config in configs]
        baseline = members.get(("process", "none"))
        rows.append([*(str(values[name]) for name in shown), python, seed_api, determinism,
                     *(_verdict(cell) for cell in process), *(_verdict(cell) for cell in in_process),
                     _seconds(baseline.epoch_seconds_median or baseline.fit_seconds_median if baseline else None),
                     _ratio(members.get(("process", "seeds"))), _ratio(members.get(("process", "full"))),
                     *([_same_compiler_ratio(key, groups)] if compilers_differ else [])])
        records.append({**{name: values[name] for name in shown}, "python": python,
                        "seed_api": seed_api, "determinism": determinism,
                        "full_vs_none_same_compiler": _same_compiler_ratio(key, groups),
                        **{config: _record(cell) for config, cell in zip(configs, process)},
                        **{f"in-process {config}": _record(cell) for config, cell in zip(configs, in_process)}})
    return Table(headers=headers, rows=rows, records=records, caption=_caption(cells, shown),
                 legend=SUMMARY_LEGEND, notes=_failure_notes(cells), brief_notes=_brief_failure_notes(cells),
                 keys=len(shown), optional=("determinism", "seed API", "Python",
                                            tuple(f"in-process {config}" for config in configs)))


def versions_table(cells: list[Cell]) -> Table:
    def lineage(cell: Cell) -> tuple:
        """What must stay the same along a row's history: all but the version and its stack."""
        return tuple(getattr(cell, name) for name in KEY_FIELDS + ("config",) if name not in ("tf_version", "image"))

    measured = [cell for cell in cells if cell.protocol == "process" and cell.ok]
    ordered = sorted(measured, key=lambda cell: (lineage(cell)[:-1], CONFIGS.index(cell.config),
                                                 version_tuple(cell.tf_version)))
    rows, records, previous = [], [], {}
    for cell in ordered:
        single = cell.distinct == 1
        digest = cell.weights_digests[0][:12] if single else f"varies ({len(cell.weights_digests)})"
        before = previous.get(lineage(cell))
        same = "-" if before is None or not single or before is False else ("yes" if before == digest else "no")
        previous[lineage(cell)] = digest if single else False
        loss, accuracy = (_final(cell, choices) for choices in (LOSS_METRICS, ACCURACY_METRICS))
        rows.append([cell.tf_version, cell.device, cell.config, _spread(loss), _spread(accuracy), digest, same])
        records.append({"tf_version": cell.tf_version, "device": cell.device, "config": cell.config,
                        **{name: values for name, values in (loss, accuracy) if name},
                        "weights_sha256": cell.weights_digests, "same_as_previous": same})
    headers = ["TF", "device", "config", _metric_header(ordered, LOSS_METRICS, "loss"),
               _metric_header(ordered, ACCURACY_METRICS, "accuracy"), "weights", "= previous"]
    return Table(headers=headers, rows=rows, records=records, legend=VERSIONS_LEGEND)


def _final(cell: Cell, choices: tuple) -> tuple[str | None, list[float]]:
    """(name, final values) of the first of ``choices`` the cell's runs recorded."""
    name = first_of(cell.final_metrics, choices)
    return name, cell.final_metrics.get(name, [])


def _metric_header(cells: list[Cell], choices: tuple, kind: str) -> str:
    """The metric's name where every row shows the same one (val_loss), else its kind."""
    names = {first_of(cell.final_metrics, choices) for cell in cells} - {None}
    return names.pop() if len(names) == 1 else kind


def diagnoses_table(diagnoses: list[dict]) -> Table:
    """One row per compared pair of traced trials (bench diagnose), TF versions in order."""
    diagnoses = sorted(diagnoses, key=lambda diagnosis: version_tuple(str(diagnosis["cell"].get("tf_version") or "")))
    cells = [Cell(**{name: diagnosis["cell"].get(name, KEY_DEFAULTS.get(name)) for name in KEY_FIELDS + ("config",)})
             for diagnosis in diagnoses]
    shown = _key_columns(KEY_FIELDS, cells) if cells else ["tf_version", "device", "protocol"]
    headers = [*(_header(name, cells) for name in shown), "config", "pair", "phase", "epoch", "step",
               "variables that part (largest |Δ| there)", "max |Δ| later", "tracing cost"]
    rows = []
    for cell, diagnosis in zip(cells, diagnoses):
        growth = [point[1] for curve in diagnosis["growth"].values() for point in curve[-1:]]
        rows.append([*(_shown(name, cell) for name in shown), cell.config,
                     " ".join(trial.rsplit("--", 1)[1] for trial in diagnosis["pair"]), diagnosis["phase"],
                     "-" if diagnosis["epoch"] is None else str(diagnosis["epoch"]),
                     "-" if diagnosis["step_in_epoch"] is None else str(diagnosis["step_in_epoch"]),
                     _variables(diagnosis), f"{max(growth):.2e}" if growth else "-",
                     f"{diagnosis['tracing_cost']:.2f}x" if diagnosis.get("tracing_cost") else "-"])
    notes = [] if diagnoses else ["- no diagnosis: no pair of traced trials was compared"]
    notes += [f"- {cell.label()} {' '.join(trial.rsplit('--', 1)[1] for trial in diagnosis['pair'])}: the model "
              "creates its variables lazily (no input shape), so the traced trials built it on their first batch "
              "(inference mode) before fit, to compare its initial variables"
              for cell, diagnosis in zip(cells, diagnoses) if diagnosis.get("built_before_fit")]
    return Table(headers=headers, rows=rows, records=diagnoses, legend=DIAGNOSES_LEGEND, notes=notes,
                 keys=len(shown) + 1, optional=("tracing cost", "max |Δ| later", "pair"),
                 short={"variables that part (largest |Δ| there)": "variables that part"})


def divergence(diagnosis: dict | None) -> str:
    """'e1 s37 dense_1/kernel backward/update', 'init dense/kernel +3', or 'identical'."""
    if not diagnosis:
        return "-"
    if diagnosis["phase"] == "none":
        return "identical"
    where = "init" if diagnosis["phase"] == "initialization" else f"e{diagnosis['epoch']} s{diagnosis['step_in_epoch']}"
    names = [variable["name"] for variable in diagnosis["variables"]]
    shown = (names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")) if names else "loss"
    phase = "" if diagnosis["phase"] == "initialization" else " " + diagnosis["phase"].split("/")[-1]
    return f"{where} {shown}{phase}"


def _variables(diagnosis: dict) -> str:
    if diagnosis["phase"] == "forward":
        return f"loss (|Δ| {diagnosis.get('loss_difference') or 0:.2e})"
    parts = [f"{v['name']} ({'?' if v['max_abs_diff'] is None else format(v['max_abs_diff'], '.2e')})"
             for v in diagnosis["variables"][:4]]
    return "; ".join(parts) + (f"; +{len(diagnosis['variables']) - 4} more" if len(diagnosis["variables"]) > 4 else "") \
        if parts else "-"


GPU_FACTS_LEGEND = """\
Legend: what the official GPU build of each TF version should do on each GPU architecture,
from the kernels it carries (bench/data/catalog.json): native = kernels for it (SASS of the same
major, this minor or older); PTX JIT = no kernels, the driver compiles embedded PTX at start-up
(minutes, paid once per image, GPU model and driver with a persistent CUDA JIT cache); fails =
neither, or a failure on record; ? = no source settles it: measure it. No fact here has been
verified on a device by this suite yet; bench check names a GPU trial that contradicts one."""


def gpu_facts_table() -> Table:
    """The catalog's GPU facts: per TF version (consecutive ones with the same facts merged),
    the expectation on each GPU architecture, with numbered sources."""
    architectures = catalog.architectures()
    shown = {catalog.NATIVE: "native", catalog.PTX_JIT: "PTX JIT", catalog.FAILS: "fails", catalog.UNKNOWN: "?"}
    sources: list[str] = []
    groups: list[list] = []  # [first, last, outcomes, source numbers]
    for version in catalog.versions().values():
        expected = [catalog.gpu_expectation(version, architecture["compute_capability"])
                    for architecture in architectures]
        numbers = []
        for source in [version.gpu["source"]] + [exception["source"] for exception in version.gpu["exceptions"]]:
            if source not in sources:
                sources.append(source)
            numbers.append(sources.index(source) + 1)
        outcomes = tuple(shown[item.outcome] for item in expected)
        if groups and groups[-1][2:] == [outcomes, numbers]:
            groups[-1][1] = version.minor
        else:
            groups.append([version.minor, version.minor, outcomes, numbers])
    headers = ["TF", *(f"{a['name']} {a['compute_capability']} ({a['examples']})" for a in architectures), "sources"]
    rows = [[first if first == last else f"{first}-{last}", *outcomes, ", ".join(f"[{n}]" for n in numbers)]
            for first, last, outcomes, numbers in groups]
    records = [{"tf": row[0], **dict(zip(headers[1:-1], row[1:-1])), "sources": [sources[n - 1] for n in numbers]}
               for row, (_, _, _, numbers) in zip(rows, groups)]
    return Table(headers=headers, rows=rows, records=records, legend=GPU_FACTS_LEGEND,
                 notes=[f"- [{number}] {source}" for number, source in enumerate(sources, start=1)])


def devices_table(cells: list[Cell]) -> Table:
    """Cells that differ only in the device model, side by side."""
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(tuple(getattr(cell, name) for name in DEVICE_LINEAGE) + (cell.config,), []).append(cell)
    across = [members for members in groups.values() if len({cell.device for cell in members}) > 1]
    shown = [name for name in _key_columns([n for n in DEVICE_LINEAGE if n != "tf_version"], [c for m in across for c in m])]
    headers = [_header("tf_version", [c for m in across for c in m]), *(HEADERS[name] for name in shown), "config",
               "devices", "each device: identical, outcome", "identical across devices"]
    rows, records = [], []
    for members in across:
        first = members[0]
        same = _identical_across(members)
        rows.append([first.tf_version, *(_shown(name, first) for name in shown), first.config,
                     str(len({cell.device for cell in members})),
                     "; ".join(f"{cell.device} ({cell.stack or '?'}): {cell.identical}/{cell.trials} {_outcome(cell)}"
                               for cell in members),
                     "-" if same is None else "yes" if same else "no"])
        records.append({**{name: getattr(first, name) for name in DEVICE_LINEAGE}, "config": first.config,
                        "devices": {cell.device: {"identical": cell.identical, "trials": cell.trials,
                                                  "verdict": cell.verdict, "outcomes": cell.outcomes,
                                                  "stack": cell.stack}
                                    for cell in members},
                        "identical_across_devices": same})
    notes = [] if across else ["- no cell was measured on more than one device model"]
    return Table(headers=headers, rows=rows, records=records, legend=DEVICES_LEGEND, notes=notes)


def _identical_across(members: list[Cell]) -> bool | None:
    """True: every device reproduced itself and all gave the same outcome; None: cannot say
    (a device's own trials differ, or none succeeded)."""
    if any(len(cell.outcomes) != 1 for cell in members):
        return None
    return len({cell.outcomes[0] for cell in members}) == 1


def _outcome(cell: Cell) -> str:
    if not cell.outcomes:
        return cell.verdict
    return cell.outcomes[0][:12] if len(cell.outcomes) == 1 else f"varies ({len(cell.outcomes)})"


def _key_columns(names, cells: list[Cell]) -> list[str]:
    """The key fields a table shows as columns: the essential ones and those that vary."""
    return [name for name in names if name in ALWAYS_SHOWN or len({getattr(cell, name) for cell in cells}) > 1]


# What must agree for two cells to be the same measurement on two device models.
DEVICE_LINEAGE = tuple(name for name in KEY_FIELDS if name != "device")


def _header(name: str, cells: list[Cell]) -> str:
    """Column titles; the version column says TF unless other frameworks are in the table; the
    loss column names the loss the cells watch (val_loss, or loss for a model that never
    validates)."""
    if name == "tf_version" and any(cell.framework != "tf.keras" for cell in cells):
        return "version"
    if name == "val_loss_diff":
        watched = {cell.watched_loss for cell in cells} - {None}
        return f"max |Δ {watched.pop() if len(watched) == 1 else 'loss'}|"
    return HEADERS[name]


def _group_key(cell: Cell) -> tuple:
    return tuple(getattr(cell, name) for name in KEY_FIELDS if name != "protocol")


def _verdict(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    sure = (f" (≤{_percent(cell.divergence_bound)})" if cell.divergence_bound is not None else
            f" (1st at {cell.first_difference_at})" if cell.first_difference_at is not None else "")
    return f"{cell.identical}/{cell.trials} {cell.verdict}{sure}"


def verdict_with_evidence(cell: Cell) -> str:
    """The verdict and how sure it is (bench.runner.confidence; see the legend)."""
    if cell.divergence_bound is not None:
        return f"{cell.verdict} (≤{_percent(cell.divergence_bound)})"
    if cell.largest_share is not None and cell.protocol == "in-process":  # a trial is one comparison
        return (f"{cell.verdict} ({cell.identical}/{cell.runs_compared} trials identical, "
                f"{_percent(cell.largest_share_low, '')}-{_percent(cell.largest_share_high)}; "
                f"1st at trial {cell.first_difference_at})")
    if cell.largest_share is not None:
        return (f"{cell.verdict} (largest {_percent(cell.largest_share)}, {_percent(cell.largest_share_low, '')}-"
                f"{_percent(cell.largest_share_high)}; 1st at run {cell.first_difference_at})")
    return cell.verdict


def _percent(share: float, unit: str = " %") -> str:
    value = share * 100
    return (f"{value:.0f}" if value >= 10 or value == 0 else f"{value:.1f}") + unit


def _record(cell: Cell | None) -> dict | None:
    return None if cell is None else {"identical": cell.identical, "trials": cell.trials, "verdict": cell.verdict,
                                      "runs_compared": cell.runs_compared,
                                      "divergence_bound": cell.divergence_bound,
                                      "largest_share": cell.largest_share,
                                      "largest_share_low": cell.largest_share_low,
                                      "largest_share_high": cell.largest_share_high,
                                      "first_difference_at": cell.first_difference_at,
                                      "fit_seconds_median": cell.fit_seconds_median,
                                      "overhead_vs_none": cell.overhead_vs_none}


def _ratio(cell: Cell | None) -> str:
    if cell is None or cell.overhead_vs_none is None:
        return "-"
    return f"{cell.overhead_vs_none:.2f}x{_marks(cell)}"


def _marks(cell: Cell) -> str:
    """What an overhead needs said beside it: ns (not significant), n<5 (too few timed runs
    for an interval: no claim either way), XLA≠ (two compilers)."""
    few = f" n<{stats.MIN_RUNS_FOR_INTERVAL}"
    return ("" if cell.overhead_significant else few if cell.overhead_significant is None else " ns") + \
        ("" if cell.overhead_same_compiler is not False else " XLA≠")


def _same_compiler_ratio(key: tuple, groups: dict) -> str:
    """full vs none where both were fitted by one compiler: this row's own, or that of the row
    that differs from it only in --jit-compile (a plan run with off beside auto), named."""
    jit = [name for name in KEY_FIELDS if name != "protocol"].index("jit_compile")
    rows = sorted((other for other in groups if other[:jit] + other[jit + 1:] == key[:jit] + key[jit + 1:]),
                  key=lambda other: other != key)  # this row first
    for other in rows:
        full = groups[other].get(("process", "full"))
        if full is not None and full.overhead_vs_none is not None and full.overhead_same_compiler is not False:
            return _ratio(full) + ("" if other == key else f" (jit_compile {other[jit]})")
    return "-"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _spread(named: tuple[str | None, list[float]]) -> str:
    """A metric's final values in one cell: one value, or the range it varies over."""
    name, values = named
    if not values:
        return "-"  # the model records no such metric
    finite = [value for value in values if floats.finite(value)]
    if len(finite) < len(values):  # NaN or infinite: shown as such
        shown = sorted({floats.encode(value) if not floats.finite(value) else f"{value:.4f}" for value in values})
        return shown[0] if len(shown) == 1 else "varies " + ", ".join(shown)
    low, high = min(values), max(values)
    return f"{low:.6f}" if low == high else f"varies {low:.4f}-{high:.4f}"


def _shown(name: str, cell: Cell) -> str:
    value = getattr(cell, name, None)
    if name == "identical":
        return f"{value}/{cell.trials}"
    if name == "verdict":
        return verdict_with_evidence(cell)
    if name == "weights_max_abs_diff":
        return _difference(value, cell)
    if name == "val_loss_diff":
        return _difference(cell.metrics_max_abs_diff.get(cell.watched_loss), cell)
    if name == "first_divergent_epoch":
        return "-" if value is None else str(value)
    if name == "diagnosis":
        return divergence(value)
    if name in ("epoch_seconds_median", "epoch_seconds_iqr") and cell.timing_basis == "fit":
        fit = cell.fit_seconds_median if name == "epoch_seconds_median" else cell.fit_seconds_iqr
        return f"{fit:.3f} (fit)"
    if name in ("epoch_seconds_median", "epoch_seconds_iqr"):
        return "-" if value is None else f"{value:.3f}"
    if name == "timed_runs":
        return str(value) if value else "-"
    if name == "xla":
        return value or "?"
    if name == "overhead_vs_none":
        return _overhead(cell)
    return "all" if value is None and name == "samples" else str(value)


def _difference(value: float | None, cell: Cell) -> str:
    if not cell.compared():
        return "-"
    if value is None:
        return "?"
    return "0" if value == 0 else floats.encode(value) if not floats.finite(value) else f"{value:.2e}"


def _overhead(cell: Cell) -> str:
    if cell.config == "none":
        return "baseline" if cell.overhead_vs_none is not None else "-"
    if cell.overhead_vs_none is None:
        return "-"
    if cell.overhead_ci_low is None:
        return f"{cell.overhead_vs_none:.2f}x{_marks(cell)}"
    return f"{cell.overhead_vs_none:.2f}x [{cell.overhead_ci_low:.2f}-{cell.overhead_ci_high:.2f}]{_marks(cell)}"


def _caption(cells: list[Cell], shown: list[str]) -> str:
    shared = [name for name in KEY_FIELDS if name not in shown and name != "protocol"
              and len({getattr(cell, name) for cell in cells}) == 1]
    if not cells or not shared:
        return ""
    first = cells[0]
    return "Same for every row: " + ", ".join(
        f"{HEADERS[name]} {_shown(name, first)}" for name in shared) + "."


def _failure_notes(cells: list[Cell]) -> list[str]:
    notes = []
    for cell in cells:
        if cell.verdict == "unsupported":
            notes.append(f"- TF {cell.tf_version} on {cell.device}: {known_limit(cell.tf_version, cell.compute_capability)}")
        for error in cell.errors:
            message = error["message"].strip().splitlines()[0][:200] if error["message"].strip() else ""
            notes.append(f"- {error['trial_id']}: {error['status']}, {error['type'].rsplit('.', 1)[-1]}: {message}")
    return notes


def _cold_start_notes(cells: list[Cell]) -> list[str]:
    notes = []
    for cell in cells:
        if cell.cold_start_seconds is not None:
            warm = (f", against {cell.startup_seconds_median:.1f} s (median) with the cache filled"
                    if cell.startup_seconds_median is not None else "")
            notes.append(f"- {cell.label()}: a trial compiled PTX into an empty CUDA cache: start-up "
                         f"{cell.cold_start_seconds:.1f} s (import, device start, model build){warm}; paid once "
                         "per image, GPU model and driver, never in the epoch times")
    return notes


def _warning_notes(cells: list[Cell]) -> list[str]:
    return [f"- {cell.label()}: {warning}" for cell in cells for warning in cell.warnings]


# Dimensions a run varies on purpose (its plan lists several: --tf, --protocol, --jit-compile,
# --framework, --model); a split along them needs no note: the table shows them as columns.
DESIGNED = ("tf_version", "protocol", "jit_compile", "framework", "model")


def _split_notes(cells: list[Cell]) -> list[str]:
    """Cells that would be one but for a single key field (say, the image): name it, so that
    nobody takes them for one measurement."""
    notes = []
    for index, first in enumerate(cells):
        for second in cells[index + 1:]:
            field_name = only_difference(first, second)
            if field_name and field_name not in DESIGNED:
                notes.append(f"- not pooled: {first.label()} and the same with {HEADERS[field_name]} "
                             f"{getattr(second, field_name)!r} instead of {getattr(first, field_name)!r}")
    return notes


# Notes as a terminal shows them (format terminal): one line for what several cells or trials
# share, naming them together; the files keep a note per cell.

def _brief_failure_notes(cells: list[Cell]) -> list[str]:
    """Failure notes with repeats merged: one per known limit, one per error (status, type and
    message) naming the trials it ended."""
    notes = list(dict.fromkeys(f"- TF {cell.tf_version} on {cell.device}: "
                               f"{known_limit(cell.tf_version, cell.compute_capability)}"
                               for cell in cells if cell.verdict == "unsupported"))
    errors: dict[tuple, list[str]] = {}
    for cell in cells:
        for error in cell.errors:
            message = error["message"].strip().splitlines()[0][:200] if error["message"].strip() else ""
            errors.setdefault((error["status"], error["type"].rsplit(".", 1)[-1], message), []).append(
                error["trial_id"])
    for (status, kind, message), trials in errors.items():
        named = trials[0] if len(trials) == 1 else f"{len(trials)} trials ({trials[0]}, ...)" if len(trials) > 2 \
            else " and ".join(trials)
        notes.append(f"- {named}: {status}, {kind}: {message}")
    return notes


def _brief_warning_notes(cells: list[Cell]) -> list[str]:
    """A warning once, with the cells it applies to (``every cell``, ``every cell with protocol
    in-process``, or their names without what every row shares)."""
    by_warning: dict[str, list[Cell]] = {}
    for cell in cells:
        for warning in cell.warnings:
            by_warning.setdefault(warning, []).append(cell)
    return [f"- {_cells_named(members, cells)}: {warning}" for warning, members in by_warning.items()]


def _cells_named(members: list[Cell], cells: list[Cell]) -> str:
    """Some cells of a table, named by what tells them apart in it."""
    varying = [name for name in KEY_FIELDS + ("config",) if len({getattr(cell, name) for cell in cells}) > 1]
    for name in reversed(varying[:-1] if varying[-1:] == ["config"] else varying[:]):
        others = [other for other in varying if other != name]  # one the others tell (the image of a version)
        told: dict[tuple, object] = {}
        if others and all(told.setdefault(tuple(getattr(cell, other) for other in others), getattr(cell, name))
                          == getattr(cell, name) for cell in cells):
            varying.remove(name)
    if len(members) == len(cells):
        return "every cell" if len(cells) > 1 else cells[0].label()
    common = [name for name in varying if len({getattr(cell, name) for cell in members}) == 1]
    if common and len(members) > 1 and len(members) == sum(
            all(getattr(cell, name) == getattr(members[0], name) for name in common) for cell in cells):
        return "every cell with " + ", ".join(f"{HEADERS[name]} {getattr(members[0], name)}" for name in common)
    groups: dict[str, list[str]] = {}  # the cells' names but for the config -> their configs
    for cell in members:
        rest = " ".join(_named(name, cell) for name in varying if name != "config")
        groups.setdefault(rest, []).append(cell.config)
    named = [" ".join(part for part in (rest, ", ".join(dict.fromkeys(configs))) if part)
             for rest, configs in groups.items()]
    return "; ".join(named) if len(named) <= 4 else "; ".join(named[:3]) + f"; and {len(named) - 3} more"


def _named(name: str, cell: Cell) -> str:
    value = getattr(cell, name)
    if name == "tf_version":
        return f"TF {value}" if cell.framework == "tf.keras" else str(value)
    if name in ("epochs", "samples", "batch_size", "jit_compile", "dataset"):
        return f"{HEADERS[name]} {'all' if value is None else value}"
    return str(value)
