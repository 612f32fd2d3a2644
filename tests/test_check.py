"""bench check lists every problem of a tree: schema, missing trials, machine, seed evidence."""

import json
import shutil

import pytest

from tests.conftest import REPO, bench

pytestmark = pytest.mark.unit

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
        edit(trials / "local--process--none--r03.json", lambda d: d["environment"].update(PYTHONHASHSEED="0"))
        (trials / "local--process--none--r02.json").unlink()
        (trials / "local--process--seeds--r02.json").write_text("{")
        (tree / "machine.json").unlink()
    done = bench("check", tampered(tmp_path, damage), check=False)
    assert done.returncode == 1
    out = done.stdout
    assert "local--process--seeds--r02.json: not readable JSON" in out
    assert "planned trials have no result" in out and "local--process--none--r02" in out
    assert "no machine.json" in out
    assert "config seeds recorded PYTHONHASHSEED but ran with PYTHONHASHSEED=None" in out
    assert "config full (tf.keras) records no tf.keras.utils.set_random_seed(<seed>) (before each model)" in out
    assert "records no tf.config.experimental.enable_op_determinism() (after import)" in out
    assert "local--process--none--r01.json: seed 7 differs from its folder's plan (42); left out" in out
    assert "config none ran with PYTHONHASHSEED=0" in out
    assert done.stderr.startswith("error: ") and "problems in" in done.stderr


def keras3_tree(tmp_path, backend, change=None):
    """The golden tree as Keras 3 on a backend would record it (no such trials are committed):
    its full trials carry that backend's switches, in the environment too."""
    from bench.trial import upgrade
    from bench.trial import controls
    switches = {
        "jax": ([controls.environment("determinism", "XLA_FLAGS", "--xla_gpu_deterministic_ops=true")], [],
                {"XLA_FLAGS": "--xla_gpu_deterministic_ops=true"}),
        "torch": ([controls.environment("determinism", "CUBLAS_WORKSPACE_CONFIG", ":4096:8")],
                  [controls.call("determinism", "torch.use_deterministic_algorithms", True),
                   controls.attribute("determinism", "torch.backends.cudnn.benchmark", False)],
                  {"CUBLAS_WORKSPACE_CONFIG": ":4096:8"}),
    }[backend]

    def convert(document):
        document.update(upgrade.to_current(dict(document)))
        document["spec"]["framework"] = f"keras3-{backend}"
        document["software"] = {"keras": "3.15.1", "keras_backend": backend, backend: "1.0"}
        config = document["spec"]["config"]
        if config == "none":
            return
        seed = controls.at(controls.BEFORE_EACH_MODEL, [controls.call("seed", "keras.utils.set_random_seed", 42)])
        hash_seed = [entry for entry in document["mechanism"] if entry["role"] == "hash seed"]
        before, after, environment = switches if config == "full" else ([], [], {})
        document["mechanism"] = (hash_seed + controls.at(controls.BEFORE_IMPORT, before)
                                 + controls.at(controls.AFTER_IMPORT, after) + seed)
        document["environment"].update(environment)
        if change:
            change(document)

    def damage(tree):
        for path in (tree / "trials").glob("*.json"):
            edit(path, convert)
        edit(tree / "plan.json", lambda plan: plan["settings"].update(framework=f"keras3-{backend}"))
    return tampered(tmp_path, damage)


def test_keras3_switches_pass_as_each_backend_records_them(tmp_path):
    for backend in ("jax", "torch"):
        done = bench("check", keras3_tree(tmp_path / backend, backend), check=False)
        assert done.returncode == 0, done.stdout


def test_a_missing_backend_switch_is_named(tmp_path):
    def drop_cublas(document):
        if document["spec"]["config"] == "full":
            document["mechanism"] = [e for e in document["mechanism"] if e["name"] != "CUBLAS_WORKSPACE_CONFIG"]
    done = bench("check", keras3_tree(tmp_path / "torch", "torch", drop_cublas), check=False)
    assert done.returncode == 1
    assert "config full (keras3-torch) records no CUBLAS_WORKSPACE_CONFIG=:4096:8|:16:8 (before import)" in done.stdout

    def flag_not_in_environment(document):
        if document["spec"]["config"] == "full":
            document["environment"]["XLA_FLAGS"] = None
    done = bench("check", keras3_tree(tmp_path / "jax", "jax", flag_not_in_environment), check=False)
    assert "config full recorded XLA_FLAGS but ran with XLA_FLAGS=None" in done.stdout


def test_a_determinism_switch_under_seeds_is_a_problem(tmp_path):
    def switch_on(document):
        if document["spec"]["config"] == "seeds":
            document["mechanism"].append({"role": "determinism", "how": "call", "name": "torch.use_deterministic_algorithms",
                                          "value": True, "when": "after import",
                                          "text": "torch.use_deterministic_algorithms(True)"})
    done = bench("check", keras3_tree(tmp_path, "torch", switch_on), check=False)
    assert "config seeds records determinism switches: torch.use_deterministic_algorithms(True)" in done.stdout


def test_schema_1_files_are_read_through_the_upgrade_and_odd_lines_refused(tmp_path):
    from bench import results
    from bench.trial import upgrade
    [result] = results.load([GOLDEN / "trials" / "local--process--full--r01.json"])
    assert json.loads((GOLDEN / "trials" / "local--process--full--r01.json").read_text())["schema_version"] == 1
    assert [entry["text"] for entry in result["mechanism"]] == [
        "PYTHONHASHSEED=0", "tf.config.experimental.enable_op_determinism()", "tf.keras.utils.set_random_seed(42)"]
    assert [entry["when"] for entry in result["mechanism"]] == ["before start", "after import", "before each model"]
    old = upgrade.to_current({"schema_version": 1, "mechanism": [
        "random.seed(42); numpy.random.seed(42); tf.random.set_seed(42) (before each model)"]})
    assert [(e["name"], e["value"]) for e in old["mechanism"]] == [
        ("random.seed", 42), ("numpy.random.seed", 42), ("tf.random.set_seed", 42)]
    tree = tampered(tmp_path, lambda tree: edit(tree / "trials" / "local--process--full--r01.json",
                                                lambda d: d["mechanism"].append("something else (set before lunch)")))
    done = bench("check", tree, check=False)
    assert "schema 1 mechanism line not understood: 'something else (set before lunch)'" in done.stdout
