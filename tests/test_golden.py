"""Golden tests: a committed tree of real trial files -> the exact tables, JSON and check output.

The fixture trees (tests/fixtures/golden-*) were made by `bench run` (TF 2.21, 300 examples,
2 epochs; a second tree whose trials all timed out) and are merged here. After an intended
change of the report, regenerate the expected files with UPDATE_GOLDEN=1 and review the diff.
"""

import os

import pytest

from tests.conftest import REPO, bench

pytestmark = pytest.mark.unit

# Relative to the repository (bench() runs there), so that paths in the output are the same anywhere.
TREES = ["tests/fixtures/golden-run", "tests/fixtures/golden-timeouts"]
EXPECTED = REPO / "tests" / "fixtures" / "golden"
CASES = [("cells", "github", "cells.md"), ("cells", "json", "cells.json"), ("cells", "csv", "cells.csv"),
         ("cells", "plain", "cells.txt"), ("summary", "github", "summary.md"),
         ("versions", "github", "versions.md"), ("versions", "json", "versions.json"),
         ("cells", "terminal", "cells.terminal.txt"), ("summary", "terminal", "summary.terminal.txt")]


def compare(name: str, actual: str) -> None:
    path = EXPECTED / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert actual == path.read_text(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("view, fmt, name", CASES)
def test_report_matches_golden(view, fmt, name):
    # The terminal format fits $COLUMNS (pytest sets 80 for its children): the golden files, 120.
    compare(name, bench("report", *TREES, "--view", view, "--format", fmt, env=dict(os.environ, COLUMNS="120")).stdout)


def test_check_lists_every_problem():
    done = bench("check", *TREES, "--min-repeats", "4", check=False)
    assert done.returncode == 1
    compare("check.txt", done.stdout + done.stderr)
