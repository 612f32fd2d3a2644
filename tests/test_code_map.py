"""The map of the code (docs/architecture.md, "The code map") names every module of bench/
under its package, and nothing that is not there."""

import ast
import re
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit
MAP_PAGE, MAP_HEADING = "docs/architecture.md", "## The code map"


def mapped_modules():
    """bench/<package>/<module>.py for each module named on the indented lines under a
    package's heading line (``bench/``, ``bench/trial/``, ...)."""
    text = (REPO / MAP_PAGE).read_text()
    block = text.split(MAP_HEADING, 1)[1].split("```", 2)[1]
    found, package = set(), None
    for line in block.splitlines():
        if not line.startswith(" "):
            package = line.split()[0] if line.startswith("bench/") else None
        elif package is not None:
            found |= {package + name for name in re.findall(r"\b\w+\.py\b", line)}
    return found


def modules():
    """Every module of bench/, but a package's __init__.py that holds only its docstring (the
    package's heading line in the map says what it is)."""
    found = set()
    for path in REPO.glob("bench/**/*.py"):
        body = ast.parse(path.read_text()).body
        if path.name == "__init__.py" and all(isinstance(node, ast.Expr) for node in body):
            continue
        found.add(str(path.relative_to(REPO)))
    return found


def test_the_map_names_every_module_and_only_those():
    mapped = mapped_modules()
    missing, absent = sorted(modules() - mapped), sorted(mapped - modules())
    assert not missing, f"modules the map does not name: {missing}"
    assert not absent, f"the map names modules that are not there: {absent}"


def test_the_check_would_see_a_module_left_out(tmp_path, monkeypatch):
    this = sys.modules[__name__]
    (tmp_path / "bench" / "report").mkdir(parents=True)
    (tmp_path / "bench" / "report" / "new_view.py").write_text("")
    (tmp_path / "docs").mkdir()
    (tmp_path / MAP_PAGE).write_text(f"{MAP_HEADING}\n```\nbench/report/\n  cells.py  x\n```\n")
    monkeypatch.setattr(this, "REPO", tmp_path)
    with pytest.raises(AssertionError, match=r"modules the map does not name: \['bench/report/new_view.py'\]"):
        test_the_map_names_every_module_and_only_those()
