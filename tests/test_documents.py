"""Every document a results folder holds carries a schema version, is checked when it is
written and read, and older ones are upgraded by one mechanism (bench.trial.upgrade)."""

import json
import shutil

import pytest

from bench import results
from bench.environments import machine
from bench.results import folder_plan, traces
from bench.runner import manifest
from bench.runner.run_plan import RunPlan
from bench.trial import upgrade
from tests.conftest import REPO, bench

pytestmark = pytest.mark.unit
TREE = REPO / "results" / "cpu-matrix"


def test_every_kind_is_registered_with_its_steps():
    assert set(upgrade.KINDS) == {"trial", "plan", "plan.json", "manifest", "machine", "diagnosis"}
    for kind, (current, steps) in upgrade.KINDS.items():
        assert sorted(steps) == list(range(min(steps, default=current), current)), kind


def test_documents_written_before_their_kind_had_a_version_are_read_as_the_current_one():
    assert "schema_version" not in json.loads((TREE / "machine.json").read_text())  # as published
    assert machine.load(TREE)["schema_version"] == machine.SCHEMA_VERSION
    published = json.loads(next((TREE / "diagnoses" / "pairs").glob("*.json")).read_text())
    assert "schema_version" not in published
    assert traces.from_file(published)["schema_version"] == traces.SCHEMA_VERSION
    assert folder_plan.stored(TREE, "--resume") == RunPlan.from_json(json.loads((TREE / "plan.json").read_text())["arguments"])


def test_a_manifest_of_the_first_format_is_read(tmp_path):
    (tmp_path / manifest.FILE).write_text(json.dumps({"version": 1, "files": {"plan.json": "ab" * 32}}))
    assert manifest.load(tmp_path) == {"plan.json": "ab" * 32}
    manifest.Manifest(tmp_path).update([])  # written again: in the current form
    assert json.loads((tmp_path / manifest.FILE).read_text()) == {"schema_version": manifest.SCHEMA_VERSION,
                                                                   "files": {"plan.json": "ab" * 32}}


@pytest.mark.parametrize("name", ["machine.json", "plan.json"])
def test_a_document_from_a_newer_version_is_named_not_guessed(name, tmp_path):
    folder = tmp_path / "tree"
    shutil.copytree(REPO / "results" / "local-cpu-tf2.21", folder)
    document = json.loads((folder / name).read_text())
    (folder / name).write_text(json.dumps(dict(document, schema_version=99)))
    done = bench("check", folder, check=False)
    assert done.returncode == 1 and name in done.stdout + done.stderr


def test_loaded_results_carry_no_private_keys():
    loaded = results.load([REPO / "results" / "local-cpu-tf2.21"])
    assert loaded and all(not key.startswith("_") for result in loaded for key in result)
    assert all(results.tree_of(result) == REPO / "results" / "local-cpu-tf2.21" for result in loaded)
