"""The version catalog: complete, consistent with the worker, and explained in the report."""

import pytest

from bench.environments import catalog
from bench.report import cells, tables, views
from bench.errors import UsageError
from bench.trial import exits, result
from bench.trial import installed
from bench.trial.frameworks import TensorFlowKeras


def test_every_minor_from_2_1_to_2_21_is_known():
    assert list(catalog.versions()) == [f"2.{minor}" for minor in range(1, 22)]


def test_the_2_1_gpu_tag_is_the_python_3_one():
    assert catalog.lookup("2.1").image["gpu"] == "tensorflow/tensorflow:2.1.0-gpu-py3"


@pytest.mark.parametrize("minor", list(catalog.versions()))
def test_catalog_apis_agree_with_what_the_worker_applies(minor, monkeypatch):
    entry = catalog.lookup(minor)
    framework = TensorFlowKeras()
    framework.version = f"{minor}.0"
    for variable in ("TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "TF_CUDNN_USE_FRONTEND"):
        monkeypatch.setenv(variable, "")  # so that monkeypatch restores what the hook sets
        monkeypatch.delenv(variable)
    before = [entry["text"] for entry in framework.determinism_before_import()]
    if entry.determinism == "TF_DETERMINISTIC_OPS=1":
        assert before[0] == "TF_DETERMINISTIC_OPS=1"
        assert ("TF_CUDNN_USE_FRONTEND=1" in before) == (minor in ("2.5", "2.6", "2.7"))
    else:
        assert before == [] and framework.version_at_least((2, 8))
    uses_set_random_seed = framework.version_at_least((2, 7))
    assert (entry.seed_api == "tf.keras.utils.set_random_seed") == uses_set_random_seed


def test_pip_requirements_name_the_minor():
    for minor, entry in catalog.versions().items():
        assert entry.pip[0] == f"tensorflow-cpu=={minor}.*"


def test_unknown_versions_are_refused_with_the_known_list():
    with pytest.raises(UsageError, match=r"unknown TensorFlow version '3.0'; known: 2.1, 2.2, .*2.21"):
        catalog.lookup("3.0")
    assert catalog.lookup("2.15.1").minor == "2.15"


def test_known_gpu_limits():
    for minor in ("2.1", "2.2", "2.3"):  # no kernels past Turing: fail on Ampere and Hopper
        assert catalog.lookup(minor).gpu_limits["unsupported_from_compute_capability"] == "8.0"
    for minor in ("2.4", "2.8", "2.11"):  # PTX compiled at start-up on Hopper
        limits = catalog.lookup(minor).gpu_limits
        assert limits["ptx_jit_from_compute_capability"] == "9.0" and "unsupported_from_compute_capability" not in limits
    assert catalog.lookup("2.12").gpu_limits == {}


# Messages as TF 2.3 builds printed them on A100s (tensorflow/tensorflow#41990 and #42428;
# datamachines/cuda_tensorflow_opencv#11).
@pytest.mark.parametrize("line", [
    "tensorflow.python.framework.errors_impl.InternalError: CUDA runtime implicit initialization on "
    "GPU:0 failed. Status: device kernel image is invalid",
    "RuntimeError: CUDA runtime implicit initialization on GPU:0 failed. Status: device kernel image "
    "is invalid",
])
def test_unsupported_gpu_messages_are_recognised(line):
    assert exits.unsupported_reason("some log\n" + line + "\nmore") == line.strip()[:500]
    assert exits.unsupported_reason("ResourceExhaustedError: OOM when allocating tensor") is None


def test_an_unsupported_cell_is_explained_from_the_catalog():
    spec = {"trial_id": "t", "config": "full", "protocol": "process", "epochs": 1, "dataset": {"name": "d"}}
    failed = result.failure(spec, "unsupported", "UnsupportedGPU", "device kernel image is invalid")
    failed["runner"] = {"tensorflow": "2.2.0", "device": {"kind": "gpu", "name": "NVIDIA H100 80GB HBM3"}}
    [cell] = cells.build_cells([failed])
    assert cell.verdict == "unsupported"
    assert "kernels up to Turing" in tables.render(views.cells_table([cell]))


def test_version_tuples():
    assert installed.version_tuple("2.15.0.post1") == (2, 15, 0)
    assert installed.version_tuple("2.16.0rc0") == (2, 16, 0)
