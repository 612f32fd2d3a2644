"""bench check lists every problem of a tree: schema, missing trials, machine, seed evidence."""

import json
import shutil

from tests.conftest import REPO, bench

GOLDEN = REPO / "tests" / "fixtures" / "golden-run"


def tampered(tmp_path, change):
    tree = tmp_path / "tree"
    shutil.copytree(GOLDEN, tree)
    change(tree)
    return tree


def edit(path, change):
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_a_valid_tree_passes():
    done = bench("check", GOLDEN)
    assert done.stdout.startswith("ok: ")


def test_every_problem_is_listed(tmp_path):
    def damage(tree):
        trials = tree / "trials"
        edit(trials / "local--process--seeds--r01.json", lambda d: d["environment"].update(PYTHONHASHSEED=None))
        edit(trials / "local--process--full--r01.json", lambda d: d.update(mechanism=d["mechanism"][:1]))
        edit(trials / "local--process--none--r01.json", lambda d: d["spec"].update(seed=7))
        (trials / "local--process--none--r02.json").unlink()
        (trials / "local--process--seeds--r02.json").write_text("{")
        (tree / "machine.json").unlink()
    done = bench("check", tampered(tmp_path, damage), check=False)
    assert done.returncode == 1
    out = done.stdout
    assert "local--process--seeds--r02.json: not readable JSON" in out
    assert "planned trials have no result" in out and "local--process--none--r02" in out
    assert "no machine.json" in out
    assert "ran with PYTHONHASHSEED=None, not '0'" in out
    assert "config full records no seed call with 42" in out
    assert "config full records no determinism switch" in out
    assert "config none records seed 7" in out
    assert done.stderr.startswith("error: ") and "problems in" in done.stderr
