"""A damaged or edited folder never crashes a command that reads it: every kind of damage to
every file a folder holds, through report (every view, HTML), check, diagnose --from, slurm
status and run --resume. Each answers in one line naming the file (or, where the file is
not needed, goes on); --resume sets damaged trial files aside (kept) and runs them again.

The folder is made once, for real (a small user model: 4 trials and a diagnosis); commands
run in this process through the CLI's own entry point, so a traceback would fail the test."""

import json
import shutil

import pytest

from bench import cli
from tests.conftest import REPO, bench

pytestmark = pytest.mark.trial

EXPERIMENT = REPO / "tests" / "fixtures" / "experiments" / "lazy_loss_only.py"
TRIAL = "trials/local--process--none--r01.json"
PAIR_GLOB = "diagnoses/pairs/*.json"


def _truncated(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _field_deleted(path):
    document = json.loads(path.read_text())
    document.pop(sorted(document)[0] if isinstance(document, dict) else 0)
    path.write_text(json.dumps(document))


def _wrong_types(path):
    document = json.loads(path.read_text())
    path.write_text(json.dumps({key: [value] for key, value in document.items()} if isinstance(document, dict)
                               else {"not": "a list"}))


def _a_folder(path):
    path.unlink()
    path.mkdir()


DAMAGE = {
    "empty": lambda path: path.write_bytes(b""),
    "truncated": _truncated,
    "a JSON list": lambda path: path.write_text("[1, 2, 3]"),
    "a field deleted": _field_deleted,
    "wrong types": _wrong_types,
    "binary": lambda path: path.write_bytes(bytes(range(256)) * 4),
    "not UTF-8": lambda path: path.write_bytes(b'{"schema_version": 3, "spec": "\xff\xfe"}'),
    "a bare NaN": lambda path: path.write_text(json.dumps(dict(json.loads(path.read_text()), extra=float("nan")))),
    "nested too deep": lambda path: path.write_text("[" * 100000 + "]" * 100000),
    "a folder": _a_folder,
}
FILES = {"trial": TRIAL, "plan": "plan.json", "machine": "machine.json", "manifest": "manifest.json",
         "diagnosis": PAIR_GLOB, "weights": "weights/*.npz"}
# What can be done to a file that is not JSON.
BYTES = ("empty", "truncated", "binary", "a folder")
CASES = [(file, damage) for file in sorted(FILES) for damage in sorted(DAMAGE)
         if file != "weights" or damage in BYTES]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A real folder: none (differs) and seeds (matches), 2 trials each, and a diagnosis."""
    folder = tmp_path_factory.mktemp("made") / "run"
    bench("run", "--experiment", EXPERIMENT, "--configs", "none,seeds", "--out", folder)
    bench("diagnose", "--from", folder)
    assert list(folder.glob(PAIR_GLOB)) and list(folder.glob("weights/*.npz"))
    return folder


def damaged_copy(made, tmp_path, file, damage):
    folder = tmp_path / "run"
    shutil.copytree(made, folder, ignore=shutil.ignore_patterns(".lock"))
    [path] = sorted(folder.glob(FILES[file]))[:1]
    DAMAGE[damage](path)
    return folder, path


def command(capsys, *arguments):
    """(exit status, stdout, stderr) of `bench ARGUMENTS`, run in this process."""
    status = cli.main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_or_fine(status, out, err, path):
    """Either it went on (0), or it failed with one `error:` line that names the damaged file."""
    if status != 0:
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: "), err
        assert path.name in last or str(path.parent.name) in last, last


@pytest.mark.parametrize("file, damage", CASES)
def test_reading_commands_name_damage_in_one_line(made, tmp_path, capsys, file, damage):
    folder, path = damaged_copy(made, tmp_path, file, damage)
    for arguments in (["report", folder], ["report", folder, "--view", "versions"],
                      ["report", folder, "--format", "html"], ["report", folder, "--view", "summary", "--format", "json"]):
        one_line_or_fine(*command(capsys, *arguments), path)
    status, out, err = command(capsys, "check", folder)
    assert status == 1 and path.name in out + err, f"bench check passed a folder with a damaged {file}"
    if file in ("trial", "plan", "diagnosis"):  # it refuses before any trial, or finds its traces done
        one_line_or_fine(*command(capsys, "diagnose", "--from", folder), path)


@pytest.mark.parametrize("damage", ["truncated", "a JSON list", "not UTF-8", "a folder"])
def test_slurm_status_names_damage(made, tmp_path, capsys, damage):
    root = tmp_path / "root"
    shard = root / "shards" / "local-cpu"
    shutil.copytree(made, shard, ignore=shutil.ignore_patterns(".lock", "diagnoses"))
    (root / "slurm").mkdir()
    submissions = [{"shards": ["local-cpu"], "arrays": [{"job": "7", "tasks": {"0": "local-cpu"}}]}]
    (root / "slurm" / "submissions.json").write_text(json.dumps(submissions))
    DAMAGE[damage](shard / TRIAL)
    status, out, err = command(capsys, "slurm", "status", root)
    assert status == 0 and "3/4 (1 damaged)" in out, out + err
    DAMAGE[damage](root / "slurm" / "submissions.json")
    status, out, err = command(capsys, "slurm", "status", root)
    assert status == 1 and "submissions.json" in err.strip().splitlines()[-1]


def test_resume_sets_damaged_trials_aside_and_runs_them_again(made, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(made, folder, ignore=shutil.ignore_patterns(".lock"))
    trials = sorted((folder / "trials").glob("*.json"))
    kinds = ["truncated", "a field deleted", "a bare NaN", "a folder"]
    for path, damage in zip(trials, kinds):
        DAMAGE[damage](path)
    done = bench("run", "--resume", folder)
    assert done.stderr.count("set aside") == len(kinds) and "Traceback" not in done.stderr
    assert len(list((folder / "damaged").iterdir())) == len(kinds)  # kept as they were
    assert all(path.is_file() for path in trials) and bench("check", folder).returncode == 0


def test_resume_with_a_damaged_plan_or_machine_is_one_line(made, tmp_path):
    for file, damage in (("plan", "truncated"), ("plan", "a JSON list"), ("machine", "truncated"),
                         ("machine", "a JSON list")):
        folder, path = damaged_copy(made, tmp_path / file / damage.replace(" ", "-"), file, damage)
        done = bench("run", "--resume", folder, check=False)
        assert done.returncode == 2 if file == "plan" else done.returncode != 0
        last = done.stderr.strip().splitlines()[-1]
        assert "Traceback" not in done.stderr and last.startswith("error: ") and path.name in last, done.stderr


def test_an_edited_recorded_file_is_named_by_check(made, tmp_path, capsys):
    """Valid JSON, plausible values: only the manifest can tell."""
    folder = tmp_path / "run"
    shutil.copytree(made, folder, ignore=shutil.ignore_patterns(".lock"))
    document = json.loads((folder / TRIAL).read_text())
    document["runs"][0]["history"]["loss"][0] += 0.125
    (folder / TRIAL).write_text(json.dumps(document))
    shutil.copy(folder / TRIAL, folder / "trials" / "local--process--none--r09.json")
    status, out, err = command(capsys, "check", folder)
    assert status == 1
    assert f"{TRIAL} was changed after the run recorded it" in out
    assert "trials/local--process--none--r09.json was not written by the run" in out
