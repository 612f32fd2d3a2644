"""From trial results to cells: one TF version x device x image x ... x protocol x config each.

A cell pools only trials that agree on every key field. It says whether they reproduced
(k/n identical, distinct outcomes), how far apart they are where they differ (weights and
every history metric, first epoch that differs), and what the control cost (timing with
median, IQR and n; overhead against none with a 95 % bootstrap interval).
"""

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields

from bench.environments import catalog
from bench.report import stats
from bench.runner import confidence
from bench.errors import UserError
from bench.trial import floats
from bench.trial.configurations import CONFIGS
from bench.trial.result import FAILED
from bench.trial.installed import version_tuple

# Fields that identify what was measured; trials differing in any of them are never pooled.
KEY_FIELDS = ("tf_version", "device", "image", "framework", "model", "dataset", "epochs", "samples",
              "batch_size", "jit_compile", "protocol")
# A key field's value where a result (or diagnosis) predates it.
KEY_DEFAULTS = {"jit_compile": "auto"}
# What a cell carries of its diagnosis (the pair's file has the growth curves too).
DIAGNOSIS_FIELDS = ("phase", "epoch", "step", "step_in_epoch", "variables", "max_abs_diff", "loss_difference",
                    "pair", "tracing_cost")
HIGH_SPREAD = 0.25      # IQR above this fraction of the median: noisy timing (a footnote says so)
# The metrics a table shows of any model: the first of each list that its history holds
# (a model compiled without accuracy, or one that never validates, still has a loss).
LOSS_METRICS = ("val_loss", "loss")
ACCURACY_METRICS = ("val_accuracy", "accuracy", "val_acc", "acc")


@dataclass
class Cell:
    tf_version: str
    device: str
    image: str
    framework: str
    model: str
    dataset: str
    epochs: int
    samples: int | None
    batch_size: int
    jit_compile: str                              # the setting asked (--jit-compile): auto, on, off
    protocol: str
    config: str
    trials: int = 0
    ok: int = 0
    identical: int = 0
    distinct: int = 0
    verdict: str = "incomplete"
    # How sure the verdict is (bench.runner.confidence): runs compared (in-process: trials, each
    # trained twice); match: the 95 % upper bound on how often a run differs; mismatch: the share
    # of runs in the largest group of identical ones, its 95 % interval, the first run that differed.
    runs_compared: int = 0
    divergence_bound: float | None = None
    largest_share: float | None = None
    largest_share_low: float | None = None
    largest_share_high: float | None = None
    first_difference_at: int | None = None
    weights_max_abs_diff: float | None = None
    metrics_max_abs_diff: dict = field(default_factory=dict)
    first_divergent_epoch: int | None = None
    fit_seconds_median: float | None = None
    fit_seconds_iqr: float | None = None
    epoch_seconds_median: float | None = None     # steady state: epochs after the first
    epoch_seconds_iqr: float | None = None
    timed_runs: int = 0
    timing_basis: str | None = None               # what the overhead compares
    overhead_vs_none: float | None = None
    overhead_ci_low: float | None = None
    overhead_ci_high: float | None = None
    overhead_significant: bool | None = None
    overhead_same_compiler: bool | None = None    # False: this cell and none were fitted by different compilers
    startup_seconds_median: float | None = None   # import, device start, model build
    cold_start_seconds: float | None = None       # the same for a trial that compiled PTX into an empty CUDA cache
    outcomes: list = field(default_factory=list)  # digests of the distinct outcomes (run_signature)
    diagnosis: dict | None = None                 # where two traced runs of the cell parted (bench diagnose)
    xla: str | None = None                        # what fit used: yes, no, mixed (runs differ); None: unknown
    stack: str | None = None                      # what the trials loaded: driver, CUDA, cuDNN, cuBLAS, PTX JIT; BLAS
    compute_capability: str | None = None         # the GPU's, as the trials recorded it
    warnings: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    # What the summary and versions views show beside the verdicts (not in the cells' records):
    seed_api: str | None = field(default=None, metadata={"view": True})      # as the trials recorded it
    determinism: str | None = field(default=None, metadata={"view": True})   # the switches full applied
    pythons: list = field(default_factory=list, metadata={"view": True})     # interpreters' versions
    final_metrics: dict = field(default_factory=dict, metadata={"view": True})  # last epoch, per ok run
    weights_digests: list = field(default_factory=list, metadata={"view": True})
    watched_loss: str | None = field(default=None, metadata={"view": True})      # LOSS_METRICS found

    def record(self) -> dict:
        """The cell as --format json and csv give it."""
        return {name.name: getattr(self, name.name) for name in fields(self) if not name.metadata.get("view")}

    def compared(self) -> bool:
        """Whether the cell had runs to compare: two ok trials, or one trained twice."""
        return self.ok >= (1 if self.protocol == "in-process" else 2)

    def key(self, config: str | None = None) -> tuple:
        return tuple(getattr(self, name) for name in KEY_FIELDS) + (config or self.config,)

    def label(self) -> str:
        """How notes and problem lists name a cell."""
        stack = f"TF {self.tf_version}" if self.framework == "tf.keras" else self.tf_version
        workload = "" if self.model == "mlp" else f" {self.model}"
        return f"{stack} {self.device}{workload} {self.protocol} {self.config}"


def device_label(result: dict) -> str:
    device = result.get("device") or result.get("runner", {}).get("device") or {}
    if not device:
        return "?"
    return device["name"] if device["kind"] == "gpu" else f"CPU {device['name']}"


def image_label(result: dict) -> str:
    """The software stack around TF: the container image, or the local interpreter."""
    runner = result.get("runner", {})
    if runner.get("image_id"):
        return runner["image_id"].replace("sha256:", "")[:12]
    if runner.get("image"):
        return runner["image"]
    python = result.get("software", {}).get("python") or runner.get("python_version")
    return f"local Python {python}" if python else "local"


def stack_version(result: dict) -> str:
    """The version that matters: TensorFlow's for tf.keras; Keras' and its backend's otherwise."""
    framework = result["spec"].get("framework", "tf.keras")
    software, runner = result.get("software", {}), result.get("runner", {})
    if framework == "tf.keras":
        return software.get("tensorflow") or runner.get("tensorflow") or "?"
    backend = framework.split("-", 1)[1]
    keras = software.get("keras") or runner.get("keras") or "?"
    return f"keras {keras} / {backend} {software.get(backend) or runner.get(backend) or '?'}"


def key_of(result: dict) -> tuple:
    spec = result["spec"]
    values = {
        "tf_version": stack_version(result),
        "device": device_label(result),
        "image": image_label(result),
        "framework": spec.get("framework", "tf.keras"),
        "model": model_label(spec),
        "dataset": spec["dataset"]["name"],
        "epochs": spec["epochs"],
        "samples": spec.get("samples"),
        "batch_size": spec.get("batch_size", 32),
        "jit_compile": spec.get("jit_compile", KEY_DEFAULTS["jit_compile"]),
        "protocol": spec["protocol"],
    }
    return tuple(values[name] for name in KEY_FIELDS) + (spec["config"],)


def model_label(spec: dict) -> str:
    """A built-in model by name; an experiment file by name and content (two versions of a
    file are two cells)."""
    experiment = spec.get("experiment")
    return f"{experiment['name']}@{experiment['sha256'][:8]}" if experiment else spec.get("model", "mlp")


def run_signature(run: dict) -> str:
    """Two runs are identical when their histories and final weights are bit-identical (a
    non-finite value by its bits, bench.trial.floats: identical NaNs are identical)."""
    history = {metric: [floats.encode(value) for value in values] for metric, values in run["history"].items()}
    return json.dumps(history, sort_keys=True) + run["weights_sha256"]


def first_of(names, choices: tuple) -> str | None:
    """The first of ``choices`` among ``names``."""
    return next((choice for choice in choices if choice in names), None)


def build_cells(results: list[dict], diagnoses: list[dict] = ()) -> list[Cell]:
    """The cells of these results; ``diagnoses`` (bench diagnose) attached to theirs."""
    groups = defaultdict(list)
    for result in results:
        groups[key_of(result)].append(result)
    cells = {key: _cell(key, members) for key, members in groups.items()}
    for diagnosis in diagnoses:
        key = tuple(diagnosis["cell"].get(name, KEY_DEFAULTS.get(name)) for name in KEY_FIELDS + ("config",))
        if key in cells and cells[key].diagnosis is None:
            cells[key].diagnosis = {name: diagnosis.get(name) for name in DIAGNOSIS_FIELDS}
    for cell in cells.values():
        _overhead(cell, cells.get(cell.key("none")), groups[cell.key()], groups.get(cell.key("none"), []))
    return sorted(cells.values(), key=_order)


def _cell(key: tuple, members: list[dict]) -> Cell:
    cell = Cell(*key)
    ok = [member for member in members if member["status"] == "ok"]
    cell.trials, cell.ok = len(members), len(ok)
    cell.errors = [{"trial_id": m["spec"]["trial_id"], "status": m["status"], **m["error"]}
                   for m in members if m["status"] != "ok"]
    runs = ok_runs(members)
    cell.outcomes = sorted({hashlib.sha256(run_signature(run).encode()).hexdigest() for run in runs})
    cell.distinct = len(cell.outcomes)
    if cell.protocol == "in-process":
        pairs = [member["runs"] for member in ok]
        cell.identical = sum(run_signature(first) == run_signature(second) for first, second in pairs)
        comparable, all_identical = len(ok) >= 1, cell.identical == len(ok)
        _divergence(cell, pairs)
        recorded = [second.get("max_abs_diff_vs_run0") for _, second in pairs]
    else:
        counts = Counter(run_signature(run) for run in runs)
        cell.identical = max(counts.values(), default=0)
        comparable, all_identical = len(ok) >= 2, cell.distinct == 1
        _divergence(cell, [runs] if len(runs) >= 2 else [])
        in_cell = {member["spec"]["trial_id"] for member in ok}
        recorded = [difference for member in ok
                    for other, difference in member.get("weights_max_abs_diff", {}).items() if other in in_cell]
    digests_differ = len({run["weights_sha256"] for run in runs}) > 1
    known = [value for value in recorded if value is not None]
    if not digests_differ and len(runs) >= 2:  # compared, and equal (one run alone compares nothing)
        cell.weights_max_abs_diff = 0.0
    elif known:
        cell.weights_max_abs_diff = max(known, key=_nan_largest)
    statuses = {error["status"] for error in cell.errors}
    if statuses & set(FAILED):  # the trial's own failure first: it says nothing of determinism
        cell.verdict = "error"
    elif "refused" in statuses:  # op determinism stopped a trial: the outcome (config ops, TF 2.6's full)
        cell.verdict = "refused"
    elif statuses == {"unsupported"} and not ok:
        cell.verdict = "unsupported"
    elif cell.errors:
        cell.verdict = "error"
    elif comparable:
        cell.verdict = "match" if all_identical else "mismatch"
    if cell.verdict in ("match", "mismatch"):
        _evidence(cell, sorted(ok, key=_run_order))
    if untimed(members):
        cell.warnings.append("verdicts only (--no-timing: trials ran side by side): no times reported")
    else:
        _timing(cell, runs)
        _startup(cell, ok)
        _overlapped(cell, ok)
    _non_finite(cell, runs)
    cell.xla = compiler(runs)
    _for_views(cell, members, runs)
    return cell


def _run_order(member: dict) -> tuple:
    return member["spec"].get("repeat", 0), member.get("started_at") or "", member["spec"]["trial_id"]


def _evidence(cell: Cell, ok: list[dict]) -> None:
    """How sure the verdict is: runs compared in the order they ran (bench.runner.confidence)."""
    if cell.protocol == "in-process":  # each trial trained twice: a trial is one comparison
        differs = [run_signature(first) != run_signature(second) for first, second in (m["runs"] for m in ok)]
        compared, largest = len(differs), differs.count(False)
    else:
        signatures = [run_signature(run) for member in ok for run in member["runs"]]
        differs = [signature != signatures[0] for signature in signatures]
        compared, largest = len(signatures), max(Counter(signatures).values())
    cell.runs_compared = compared
    if cell.verdict == "match":
        cell.divergence_bound = confidence.upper_bound_none_seen(compared)
        return
    cell.largest_share = largest / compared
    cell.largest_share_low, cell.largest_share_high = confidence.interval(largest, compared)
    cell.first_difference_at = differs.index(True) + 1 if True in differs else None


def compute_capability(result: dict) -> str | None:
    """The compute capability of the GPU a trial ran on (or was given), where recorded."""
    device = result.get("device") or (result.get("runner") or {}).get("device") or {}
    return device.get("compute_capability") if device.get("kind") == "gpu" else None


def loaded_stack(result: dict) -> str:
    """The native stack a trial ran on, in a few words: driver, CUDA runtime, cuDNN, cuBLAS
    as the process loaded them, the driver's PTX compiler where it was loaded or the log says
    PTX was compiled; else the BLAS it loaded."""
    loaded = result.get("loaded") or {}
    device = result.get("device") or {}
    parts = [f"driver {device['driver']}"] if device.get("driver") else []
    parts += [f"{label} {loaded[key]}" for key, label in (("cuda_runtime", "CUDA"), ("cudnn", "cuDNN"),
                                                          ("cublas", "cuBLAS")) if loaded.get(key)]
    if loaded.get("ptx_jit_compiler_loaded") or ((result.get("runner") or {}).get("log_findings") or {}).get("ptx_jit"):
        parts.append("PTX JIT")
    if not parts:
        parts = [name.split(".so")[0].removeprefix("lib") for name in loaded.get("libraries", [])
                 if "blas" in name or "mkl" in name]
    return ", ".join(parts) or "?"


def compiler(runs: list[dict]) -> str | None:
    """Whether fit compiled with XLA in these runs, as each recorded it (run.jit_compile)."""
    used = {run.get("jit_compile") for run in runs}
    if not runs or None in used:
        return None
    return "mixed" if len(used) > 1 else "yes" if used == {True} else "no"


def _nan_largest(value: float) -> float:
    """Order for the largest difference: NaN (weights that became NaN) above everything."""
    return float("inf") if value != value else value


def _non_finite(cell: Cell, runs: list[dict]) -> None:
    """A loss that became NaN or infinite is a finding: say in which runs, from which epoch."""
    epochs = []
    for run in runs:
        losses = [metric for metric in run["history"] if metric.endswith("loss")]
        bad = [epoch for metric in losses for epoch, value in enumerate(run["history"][metric], start=1)
               if not floats.finite(value)]
        if bad:
            epochs.append(min(bad))
    if epochs:
        cell.warnings.append(f"the loss became non-finite (NaN or infinite) in {len(epochs)} of {len(runs)} runs, "
                             f"from epoch {min(epochs)}" + ("" if len(set(epochs)) == 1 else f" to {max(epochs)}"))


def _for_views(cell: Cell, members: list[dict], runs: list[dict]) -> None:
    cell.pythons = sorted({m["software"]["python"] for m in members if (m.get("software") or {}).get("python")})
    names = {name for run in runs for name in run["history"]}
    chosen = [name for name in (first_of(names, LOSS_METRICS), first_of(names, ACCURACY_METRICS)) if name]
    cell.final_metrics = {name: [run["history"][name][-1] for run in runs if name in run["history"]]
                          for name in chosen}
    cell.watched_loss = first_of(names, LOSS_METRICS)
    stacks = {loaded_stack(member) for member in members if member["status"] == "ok"}
    cell.stack = stacks.pop() if len(stacks) == 1 else "varies" if stacks else None
    cell.compute_capability = next((capability for capability in map(compute_capability, members) if capability), None)
    cell.weights_digests = sorted({run["weights_sha256"] for run in runs})
    recorded = [m["mechanism"] for m in members if m["mechanism"]]
    if recorded:
        entries = recorded[-1]
        seeds = [entry["name"] for entry in entries if entry["role"] == "seed"]
        # TF_CUDNN_*: set beside TF_DETERMINISTIC_OPS on older TF; the switch is what is named.
        switches = [entry["text"] for entry in entries
                    if entry["role"] == "determinism" and not entry["name"].startswith("TF_CUDNN")]
        cell.seed_api = ("random + numpy + tf.random.set_seed" if seeds[:1] == ["random.seed"] else
                         seeds[0] if seeds else "?")
        cell.determinism = "; ".join(switches) or "?"


def _startup(cell: Cell, ok: list[dict]) -> None:
    """Start-up time of the trials, and of a cold start (PTX compiled into an empty CUDA
    cache) apart, so that what a build without kernels for the GPU costs once is seen."""
    cold = [m["timing"]["startup_seconds"] for m in ok
            if (m.get("cuda_cache") or {}).get("cold") and "startup_seconds" in m.get("timing", {})]
    warm = [m["timing"]["startup_seconds"] for m in ok
            if not (m.get("cuda_cache") or {}).get("cold") and "startup_seconds" in m.get("timing", {})]
    cell.cold_start_seconds = max(cold) if cold else None
    cell.startup_seconds_median = stats.summarize(warm).median if warm else None


def _overlapped(cell: Cell, ok: list[dict]) -> None:
    """On a CPU, a trial started early (--overlap) imports its framework on the cores that the
    trial before it trains on: that one's times include the competition."""
    beside = [m for m in ok if m.get("runner", {}).get("next_started_early") and (m.get("device") or {}).get("kind") == "cpu"]
    if beside:
        cell.warnings.append(f"{len(beside)} of {len(ok)} trials trained on a CPU while the next one started "
                             "beside them (--overlap): their times include that competition")


def _divergence(cell: Cell, groups: list[list[dict]]) -> None:
    """Largest difference of each history metric, and the first epoch where runs disagree,
    over groups of runs that are compared with each other."""
    largest: dict[str, float] = {}
    first = None
    for runs in groups:
        metrics = sorted(set.intersection(*(set(run["history"]) for run in runs)))
        for metric in metrics:
            for epoch, values in enumerate(zip(*(run["history"][metric] for run in runs)), start=1):
                if all(floats.same(value, values[0]) for value in values):
                    largest.setdefault(metric, 0.0)
                    continue
                largest[metric] = max(largest.get(metric, 0.0), _spread(values), key=_nan_largest)
                if first is None or epoch < first:
                    first = epoch
    cell.metrics_max_abs_diff = largest
    cell.first_divergent_epoch = first


def _spread(values: tuple) -> float:
    """How far apart values of one epoch that differ are: max - min where they are finite,
    else infinity (one is NaN or infinite, another is not)."""
    return max(values) - min(values) if all(floats.finite(value) for value in values) else float("inf")


def steady_epoch_seconds(run: dict) -> float | None:
    """Median epoch time after the first epoch (which includes tracing and compilation)."""
    later = run["epoch_seconds"][1:]
    return stats.summarize(later).median if later else None


def _timing(cell: Cell, runs: list[dict]) -> None:
    fit = stats.summarize(timing_values(runs, "fit"))
    steady = stats.summarize(timing_values(runs, "steady epoch"))
    if fit:
        cell.fit_seconds_median, cell.fit_seconds_iqr, cell.timed_runs = fit.median, fit.iqr, fit.n
    if steady:
        cell.epoch_seconds_median, cell.epoch_seconds_iqr = steady.median, steady.iqr
    cell.timing_basis = "steady epoch" if steady else "fit" if fit else None
    basis = steady or fit
    if basis and basis.median and basis.iqr / basis.median > HIGH_SPREAD:
        cell.warnings.append(f"high timing spread (IQR {basis.iqr / basis.median:.0%} of the median)")


def ok_runs(members: list[dict]) -> list[dict]:
    return [run for member in members if member["status"] == "ok" for run in member["runs"]]


def timing_values(runs: list[dict], basis: str | None) -> list[float]:
    if basis == "steady epoch":
        return [value for value in map(steady_epoch_seconds, runs) if value is not None]
    return [run["fit_seconds"] for run in runs] if basis == "fit" else []


def untimed(members: list[dict]) -> bool:
    """Trials of a verdicts-only run (--no-timing): side by side, their times mean nothing."""
    return any(member["spec"].get("timed") is False for member in members)


def _concurrent(members: list[dict]) -> int:
    return max((member.get("runner", {}).get("concurrent_trials", 1) for member in members), default=1)


def _overhead(cell: Cell, baseline: Cell | None, members: list[dict], baseline_members: list[dict]) -> None:
    concurrent = max(_concurrent(members), _concurrent(baseline_members))
    if untimed(members):
        return  # said once, where the timing would be
    if concurrent > 1:  # trials shared the machine: their times are not comparable
        cell.warnings.append(f"trials ran {concurrent} at a time (one per GPU): no overhead computed")
        return
    if baseline is None or cell.timing_basis is None or baseline.timing_basis != cell.timing_basis:
        return
    ratio = stats.ratio_of_medians(timing_values(ok_runs(members), cell.timing_basis),
                                   timing_values(ok_runs(baseline_members), cell.timing_basis))
    if ratio:
        cell.overhead_vs_none, cell.overhead_ci_low, cell.overhead_ci_high = ratio.value, ratio.low, ratio.high
        cell.overhead_significant = ratio.significant if cell.config != "none" else None  # None: no interval
        cell.overhead_same_compiler = same_compiler(cell, baseline)
        if not cell.overhead_same_compiler:
            cell.warnings.append(f"vs none compares two compilers: {cell.config} fit {_with(cell.xla)} XLA, none "
                                 f"{_with(baseline.xla)} (Keras >= 3.7 turns jit_compile auto off under TF op "
                                 "determinism, keras-team/keras#20315): the ratio is not determinism's cost alone; "
                                 "--jit-compile off (or on) measures it with one compiler")


def same_compiler(cell: Cell, other: Cell) -> bool:
    """Whether two cells' fits used the same compiler (unknown counts as the same: nothing says otherwise)."""
    return cell.xla is None or other.xla is None or cell.xla == other.xla


def _with(xla: str | None) -> str:
    return {"yes": "with", "no": "without", "mixed": "partly with"}.get(xla, "with or without")


def _order(cell: Cell) -> tuple:
    return (cell.framework != "tf.keras", cell.framework,
            version_tuple(cell.tf_version) if cell.tf_version[:1].isdigit() else (), cell.tf_version,
            cell.device, cell.image, cell.framework, cell.model, cell.dataset, cell.epochs,
            cell.samples or 0, cell.batch_size, cell.protocol != "process", cell.protocol,
            CONFIGS.index(cell.config))


def only_difference(first: Cell, second: Cell) -> str | None:
    """The one key field (config aside) in which two cells differ, if exactly one."""
    differing = [name for name in KEY_FIELDS if getattr(first, name) != getattr(second, name)]
    return differing[0] if len(differing) == 1 and first.config == second.config else None


def known_limit(tf_version: str, compute_capability: str | None) -> str:
    """What the catalog expects of this version on this GPU, with its source, to explain an
    unsupported cell."""
    try:
        version = catalog.lookup(tf_version)
    except UserError:
        return "not in the catalog"
    if not compute_capability:
        return "the trials recorded no compute capability to look up in the catalog"
    expected = catalog.gpu_expectation(version, compute_capability)
    return f"the catalog expects {expected.outcome} on {compute_capability}: {expected.why} ({expected.source})"
