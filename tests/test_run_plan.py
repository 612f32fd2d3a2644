"""The plan as one document: declared once, checked, versioned, handed to every launcher."""

import json

import pytest

from bench import cli
from bench.launchers import compose_file
from bench.results import folder_plan
from bench.runner import run_plan
from bench.runner.run_plan import RunPlan, Setting
from tests.conftest import REPO, bench, bench_here

pytestmark = pytest.mark.unit


def test_a_plan_survives_its_document_and_refuses_what_it_cannot_take():
    chosen = RunPlan(configs=["none", "full"], repeats=3, epochs=1, jit_compile="off", inherit_env=["HOME"])
    assert RunPlan.from_json(json.loads(json.dumps(chosen.to_json()))) == chosen
    assert chosen.to_json()["schema_version"] == run_plan.SCHEMA_VERSION
    with pytest.raises(AttributeError):
        chosen.epochs = 2  # a plan never changes in place
    assert chosen.replace(epochs=2).epochs == 2 and chosen.epochs == 1
    for bad, reason in (({"repeats": 1}, "--repeats must be at least 2"), ({"configs": ["fast"]}, "unknown config"),
                        ({"epochs": "3"}, "not a whole number"), ({"seed": -1}, "seeds go from 0"),
                        ({"timeout": float("nan")}, "positive, finite"), ({"nonsense": 1}, "unknown plan settings"),
                        ({"framework": ["tf.keras", "tf.keras"]}, "names one twice")):
        with pytest.raises(ValueError, match=reason):
            RunPlan(**bad)
    with pytest.raises(ValueError, match="schema_version 99"):
        RunPlan.from_json({"schema_version": 99, "settings": {}})
    with pytest.raises(ValueError, match="does not know: warp_speed"):
        RunPlan.from_json({"schema_version": 1, "settings": {"warp_speed": True}})
    for unversioned in ({}, {"repetas": 5}):  # a typo is never dropped, an empty file never all defaults
        with pytest.raises(ValueError, match="not a plan document"):
            RunPlan.from_json(unversioned)
    with pytest.raises(ValueError, match="--until 1e-09 must be a rate from 0.1 %"):
        RunPlan(until=1e-9)
    with pytest.raises(ValueError, match="--repeats-max 1 is below --repeats"):
        RunPlan(until=0.5, repeats_max=1)


def test_every_published_folder_plan_loads_upgraded():
    """plan.json files made before plans had a schema (their plan as "arguments") still load."""
    folders = [path.parent for path in (REPO / "results").glob("*/plan.json")]
    assert folders
    for folder in folders:
        stored = folder_plan.stored(folder, "--resume")
        recorded = json.loads((folder / "plan.json").read_text())
        trials = recorded["trials"]
        assert {trial.split("--")[-2] for trial in trials} == set(stored.configs)
        assert stored.epochs == recorded["settings"]["epochs"]


def test_two_plans_name_their_differences_and_ignore_what_the_backend_ignores():
    local = RunPlan(tf="2.21", python="/a/python", epochs=1)
    assert local.differences(local.replace(python="/b/python")) == []  # --tf: the environment's Python
    assert local.differences(local.replace(epochs=2, timeout=5.0)) == [("epochs", 1, 2)]  # timeout: how fast


@pytest.fixture
def dummy_setting(monkeypatch):
    """A setting added in one place: the declaration."""
    dummy = Setting("dummy", 1, "count", metavar="N", help="a setting added by a test")
    settings = run_plan.SETTINGS + (dummy,)
    monkeypatch.setattr(run_plan, "SETTINGS", settings)
    monkeypatch.setattr(run_plan, "BY_NAME", {setting.name: setting for setting in settings})
    monkeypatch.setattr(run_plan, "DEFINING", tuple(setting.name for setting in settings if setting.defines))
    return dummy


def test_a_setting_declared_once_reaches_a_slurm_shard_a_plan_file_and_compose(dummy_setting, tmp_path, capsys):
    assert cli.main(["slurm", "--dummy", "7", "--samples", "300", "--out", str(tmp_path), "--dry-run"]) == 0
    assert '"dummy": 7' in capsys.readouterr().out
    assert cli.main(["run", "--dummy", "7", "--write-plan", str(tmp_path / "plan.json")]) == 0
    document = json.loads((tmp_path / "plan.json").read_text())
    assert RunPlan.from_json(document).dummy == 7  # as the in-container batch reads it
    assert compose_file.plan(RunPlan(dummy=7)).to_json()["settings"]["dummy"] == 7
    assert cli.main(["run", "--plan", str(tmp_path / "plan.json"), "--dummy", "8", "--out", str(tmp_path)]) == 2
    assert "--dummy would change it" in capsys.readouterr().err


def test_a_damaged_plan_file_is_one_line(tmp_path):
    for content in ("{", "[]", '{"schema_version": 1, "settings": {"repeats": "two"}}'):
        (tmp_path / "plan.json").write_text(content)
        done = bench("run", "--plan", tmp_path / "plan.json", "--out", tmp_path / "out", check=False)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--plan" in done.stderr, done.stderr


def test_the_repository_compose_plan_is_a_plan_with_no_host_path():
    document = json.loads((REPO / compose_file.PLAN_FILE).read_text())
    assert RunPlan.from_json(document) == compose_file.plan()
    assert document["settings"]["python"] == "python3"


def test_a_folders_plan_json_of_any_version_is_a_plan_file(tmp_path):
    """--plan takes a folder's plan.json too (its plan upgraded), never reads it as arguments."""
    for folder in ("cpu-matrix", "local-cpu-tf2.21"):  # arguments recorded; only settings and trial ids
        written = tmp_path / f"{folder}.json"
        assert bench_here("run", "--plan", REPO / "results" / folder / "plan.json", "--write-plan", written).returncode == 0
        assert RunPlan.from_json(json.loads(written.read_text())) == folder_plan.stored(REPO / "results" / folder, "-")
    with pytest.raises(ValueError, match="not a plan document"):
        RunPlan.from_json(json.loads((REPO / "results" / "cpu-matrix" / "plan.json").read_text()))
