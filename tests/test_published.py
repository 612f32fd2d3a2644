"""Every published number is regenerated from the result files committed beside it."""

import shutil

from bench.report import publish
from tests.conftest import REPO, bench


def test_committed_tables_and_readme_match_their_result_files():
    stale = publish.publish(REPO, check=True)
    assert stale == [], f"regenerate with `python -m bench publish`: {stale}"


def test_a_hand_edited_number_is_caught(tmp_path):
    shutil.copytree(REPO / "results", tmp_path / "results")
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    table = next((tmp_path / "results").glob("*/table.md"))
    table.write_text(table.read_text().replace("match", "matcg", 1))
    done = bench("publish", "--root", tmp_path, "--check", check=False)
    assert done.returncode == 1 and str(table) in done.stderr
    bench("publish", "--root", tmp_path)
    assert bench("publish", "--root", tmp_path, "--check", check=False).returncode == 0
