"""GPU tables that say what they measured, tried on fixture trials: no GPU exists here, so GPU
results are made from real CPU trial files (tests/fixtures/golden-run) with the fields a GPU
trial records set as a GPU trial would set them (device, TF and Keras versions, what fit
compiled with, what the log said). The CPU-observable parts run for real in
test_jit_and_ops.py. No TensorFlow here."""

import copy
import json
import shutil

import pytest

from bench import results
from bench.report import cells as cells_module, tables, views
from bench.results import gpu_facts
from tests.conftest import REPO, bench

pytestmark = pytest.mark.unit

GOLDEN = REPO / "tests" / "fixtures" / "golden-run"
H100 = {"kind": "gpu", "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "driver": "550.54.15"}
RTX5090 = {"kind": "gpu", "name": "NVIDIA GeForce RTX 5090", "compute_capability": "12.0", "driver": "575.51"}


def golden_trials():
    return [results.Loaded(result, GOLDEN / "trials" / f"{result['spec']['trial_id']}.json")
            for result in results.load([GOLDEN]) if result["spec"]["protocol"] == "process"]


def as_gpu(result, device=H100, tensorflow="2.18.0", keras="3.8.0", xla=None, log=None, jit_compile=None,
           epoch_seconds=None):
    """A GPU trial made from a CPU one: what it ran on and with, as a GPU trial records it."""
    gpu = copy.deepcopy(result)
    gpu["device"] = dict(device, gpus=[])
    gpu["software"].update(tensorflow=tensorflow, keras=keras)
    gpu["runner"]["log_findings"] = log or {}
    gpu["loaded"] = {"libraries": ["libcudart.so.12", "libcudnn.so.9"], "cuda_runtime": "12.5", "cudnn": "9.3.0"}
    if jit_compile is not None:
        gpu["spec"]["jit_compile"] = jit_compile
    for run in gpu["runs"]:
        if xla is not None:
            run["jit_compile"] = xla(gpu["spec"]["config"])
        if epoch_seconds is not None:
            run["epoch_seconds"] = [epoch_seconds(gpu["spec"]["config"])] * len(run["epoch_seconds"])
    return gpu


# The catalog's GPU facts against what GPU trials saw ------------------------------------------------

@pytest.mark.parametrize("tensorflow, device, log, status, contradicts", [
    ("2.15.0", H100, {"ptx_jit": True}, "ok", False),   # the catalog expects PTX on Hopper for 2.4-2.15
    ("2.18.0", H100, {"ptx_jit": True}, "ok", True),    # it expects sm_90 kernels from 2.17
    ("2.18.0", H100, {}, "ok", False),
    ("2.21.0", RTX5090, {}, "ok", True),                # it expects 12.0 to fail on 2.19-2.21
    ("2.18.0", H100, {}, "unsupported", True),
    ("2.16.1", H100, {"ptx_jit": True}, "ok", False),   # unknown: a measurement, never a contradiction
])
def test_a_gpu_trial_that_contradicts_the_catalog_is_named_with_its_source(tensorflow, device, log, status,
                                                                            contradicts):
    trial = as_gpu(golden_trials()[0], device=device, tensorflow=tensorflow, log=log)
    if status == "unsupported":
        trial.update(status="unsupported", runs=[], error={"type": "UnsupportedGPU", "message": "invalid"})
    found = gpu_facts.contradiction(trial)
    assert bool(found) == contradicts, found
    if contradicts:
        assert f"TF {tensorflow}" in found and "source:" in found and "catalog.json" in found


def test_bench_check_names_the_contradiction(tmp_path):
    tree = shutil.copytree(GOLDEN, tmp_path / "tree")
    path = tree / "trials" / "local--process--seeds--r01.json"
    document = json.loads(path.read_text())
    document.update(device=dict(H100, gpus=[]))
    document["runner"]["log_findings"] = {"ptx_jit": True}
    document["software"]["tensorflow"] = "2.18.0"
    path.write_text(json.dumps(document))
    done = bench("check", tree, check=False)
    assert done.returncode == 1 and "compiled PTX at start-up, but the catalog expects native" in done.stdout


# Determinism's cost apart from XLA's ---------------------------------------------------------------

def keras_change_cells(keras, with_off_row=False):
    """none and full on one GPU, as Keras before 3.7 (XLA for every config) and from 3.7 (XLA
    off under op determinism: keras-team/keras#20315) compile them under jit_compile auto."""
    def xla(config):
        return not (config == "full" and keras >= "3.7")
    trials = [as_gpu(result, keras=keras, xla=xla, epoch_seconds=lambda config: 0.2 if config == "full" else 0.1)
              for result in golden_trials() if result["spec"]["config"] in ("none", "full")]
    if with_off_row:
        trials += [as_gpu(result, keras=keras, xla=lambda config: False, jit_compile="off",
                          epoch_seconds=lambda config: 0.33 if config == "full" else 0.3)
                   for result in golden_trials() if result["spec"]["config"] in ("none", "full")]
    return cells_module.build_cells(trials)


def test_before_the_keras_change_full_and_none_share_a_compiler():
    cells = {cell.config: cell for cell in keras_change_cells("3.6.0")}
    assert cells["none"].xla == cells["full"].xla == "yes"
    assert cells["full"].overhead_same_compiler is True
    table = views.cells_table(list(cells.values()))
    assert not any("XLA≠" in value for row in table.rows for value in row)


def test_after_the_keras_change_the_overhead_says_it_compares_two_compilers():
    cells = {cell.config: cell for cell in keras_change_cells("3.8.0")}
    assert (cells["none"].xla, cells["full"].xla) == ("yes", "no")
    assert cells["full"].overhead_same_compiler is False
    table = views.cells_table(list(cells.values()))
    assert any(value.endswith("XLA≠") for row in table.rows for value in row)
    notes = " ".join(table.notes)
    assert "compares two compilers" in notes and "keras-team/keras#20315" in notes
    summary = tables.render(views.summary_table(list(cells.values())), "plain")
    assert "full vs none, same compiler" in summary and "XLA≠" in summary


def test_the_summary_shows_full_vs_none_with_one_compiler_from_the_jit_off_row():
    cells = keras_change_cells("3.8.0", with_off_row=True)
    table = views.summary_table(cells)
    records = {record["jit_compile"]: record for record in table.records}
    assert set(records) == {"auto", "off"}
    assert records["auto"]["full_vs_none_same_compiler"].endswith("(jit_compile off)")
    assert records["auto"]["full_vs_none_same_compiler"].startswith("1.10x")
    assert records["off"]["full_vs_none_same_compiler"].startswith("1.10x")


# One patch per cell, the loaded stack per GPU model ---------------------------------------------

def test_two_patch_releases_of_a_minor_are_never_pooled():
    trials = golden_trials()
    patched = [as_gpu(result, tensorflow="2.15.0" if index % 2 else "2.15.1") for index, result in enumerate(trials)]
    versions = {cell.tf_version for cell in cells_module.build_cells(patched)}
    assert versions == {"2.15.0", "2.15.1"}


def test_the_devices_view_shows_each_gpu_models_loaded_stack():
    trials = golden_trials()
    across = [as_gpu(result) for result in trials] + \
        [as_gpu(result, device={"kind": "gpu", "name": "NVIDIA A100-SXM4-80GB", "compute_capability": "8.0",
                                "driver": "535.104"}) for result in trials]
    text = tables.render(views.devices_table(cells_module.build_cells(across)), "plain")
    assert "NVIDIA H100 80GB HBM3 (driver 550.54.15, CUDA 12.5, cuDNN 9.3.0)" in text
    assert "NVIDIA A100-SXM4-80GB (driver 535.104, CUDA 12.5, cuDNN 9.3.0)" in text
