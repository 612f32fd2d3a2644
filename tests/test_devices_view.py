"""The cross-device view: the same cell measured on several GPU models, side by side.

No GPU can be had here, so the two GPU trees are the golden tree (real trials) relabelled
as if run on an H100 and an H200 machine: a stand-in for what cannot exist here."""

import json
import shutil

import pytest

from tests.conftest import REPO, bench

pytestmark = pytest.mark.unit

GOLDEN = REPO / "tests" / "fixtures" / "golden-run"


def on_gpu(tmp_path, name, change=None):
    tree = tmp_path / name.split()[1].lower()
    shutil.copytree(GOLDEN, tree)
    for path in (tree / "trials").glob("*.json"):
        document = json.loads(path.read_text())
        document["device"] = {"kind": "gpu", "name": name, "uuid": "GPU-x", "driver": "580.159.04", "gpus": []}
        if change:
            change(document)
        path.write_text(json.dumps(document))
    return tree


def test_cells_on_two_gpu_models_are_compared_outcome_by_outcome(tmp_path):
    def other_seeds_outcome(document):  # the H200 reproduces itself, but with other bits under seeds
        if document["spec"]["config"] == "seeds":
            for run in document["runs"]:
                run["weights_sha256"] = "f" * 64
    h100 = on_gpu(tmp_path, "NVIDIA H100 80GB HBM3")
    h200 = on_gpu(tmp_path, "NVIDIA H200", other_seeds_outcome)
    records = json.loads(bench("report", h100, h200, "--view", "devices", "--format", "json").stdout)
    by_config = {(r["protocol"], r["config"]): r for r in records}
    assert set(by_config["process", "full"]["devices"]) == {"NVIDIA H100 80GB HBM3", "NVIDIA H200"}
    assert by_config["process", "full"]["identical_across_devices"] is True
    assert by_config["process", "seeds"]["identical_across_devices"] is False
    assert by_config["process", "none"]["identical_across_devices"] is None  # none differs on each GPU itself
    rows = [line.split("|")[1:-1] for line in bench("report", h100, h200, "--view", "devices").stdout.splitlines()
            if line.startswith("| 2.21.0")]
    seeds = next(row for row in rows if [cell.strip() for cell in row[1:3]] == ["process", "seeds"])
    assert seeds[3].strip() == "2" and seeds[5].strip() == "no"
    # each GPU model with the stack its trials loaded (here what the fixture's device records: the driver)
    assert seeds[4].strip().startswith("NVIDIA H100 80GB HBM3 (driver 580.159.04): 3/3 ca8d1df8ad02; "
                                       "NVIDIA H200 (driver 580.159.04): 3/3 ")
    none = next(row for row in rows if [cell.strip() for cell in row[1:3]] == ["process", "none"])
    assert "1/3 varies (3)" in none[4] and none[5].strip() == "-"
    page = bench("report", h100, h200, "--format", "html").stdout
    assert "Across device models" in page


def test_one_device_model_has_nothing_to_compare():
    table = bench("report", GOLDEN, "--view", "devices").stdout
    assert "no cell was measured on more than one device model" in table
    assert "Across device models" not in bench("report", GOLDEN, "--format", "html").stdout
