"""The version catalog: complete, consistent with the worker, and explained in the report."""

import pytest

from bench.environments import catalog
from bench.report import cells, tables, views
from bench.errors import UsageError
from bench.trial import exits, result
from bench.trial import installed
from bench.trial.frameworks import TensorFlowKeras

pytestmark = pytest.mark.unit


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


def test_every_gpu_fact_has_a_source_and_none_claims_a_device():
    for minor, entry in catalog.versions().items():
        assert entry.gpu["source"] and entry.gpu["verified_on_device"] is False, minor
        assert all(exception["source"] and exception["why"] for exception in entry.gpu["exceptions"]), minor
    assert {a["compute_capability"] for a in catalog.architectures()} >= {"7.0", "8.0", "9.0", "10.0", "12.0"}


@pytest.mark.parametrize("minor, capability, expected", [
    ("2.2", "7.5", catalog.NATIVE),      # 7.0 kernels run on 7.5 (no release built sm_75)
    ("2.3", "8.0", catalog.UNKNOWN),     # only PTX for 7.0: JIT or 'device kernel image is invalid'
    ("2.15", "8.0", catalog.NATIVE),
    ("2.14", "9.0", catalog.PTX_JIT),    # tensorflow/tensorflow#60739
    ("2.15", "9.0", catalog.PTX_JIT),    # #62320
    ("2.16", "9.0", catalog.UNKNOWN),    # no source settles it
    ("2.17", "9.0", catalog.NATIVE),     # sm_60,sm_70,sm_80,sm_89,compute_90
    ("2.17", "8.9", catalog.NATIVE),
    ("2.21", "10.0", catalog.PTX_JIT),   # Blackwell through the 9.0 PTX
    ("2.19", "12.0", catalog.FAILS),     # #97387, #99592, #89272
    ("2.18", "12.0", catalog.UNKNOWN),
])
def test_what_each_build_should_do_on_each_gpu(minor, capability, expected):
    assert catalog.gpu_expectation(catalog.lookup(minor), capability).outcome == expected


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
    failed["runner"] = {"tensorflow": "2.2.0", "device": {"kind": "gpu", "name": "NVIDIA H100 80GB HBM3",
                                                           "compute_capability": "9.0"}}
    [cell] = cells.build_cells([failed])
    assert cell.verdict == "unsupported"
    text = tables.render(views.cells_table([cell]), "plain")
    assert "the catalog expects unknown on 9.0: only PTX for 7.0" in text and "tensorflow/tensorflow#47563" in text


def test_version_tuples():
    assert installed.version_tuple("2.15.0.post1") == (2, 15, 0)
    assert installed.version_tuple("2.16.0rc0") == (2, 16, 0)
