"""The scripts a person runs say what they do: the test command reports skipped tests' reasons
and the slowest tests; CI waits for the package manager's lock instead of failing at once."""

import os
import re
import shlex
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit


def test_the_test_command_reports_skip_reasons_and_the_slowest_tests():
    script = (REPO / "scripts" / "test").read_text()
    [pytest_line] = [line for line in script.splitlines() if re.match(r"exec \.venv/bin/python -m pytest", line)]
    arguments = shlex.split(pytest_line)
    import tomllib
    addopts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    report = [argument for argument in addopts + arguments if argument.startswith("-r")]
    assert report and all(kind in report[-1] for kind in "fEs")  # failures, errors, skips: each with its reason
    assert any(re.fullmatch(r"--durations=\d+", argument) for argument in arguments)
    assert arguments[-1] == '"$@"' or arguments[-1] == "$@"  # the caller's arguments come last: they add to these
    # CI calls it (so it gets them too), with -q after.
    assert "scripts/test -q" in (REPO / ".ci" / "run").read_text()


def apt_get_function() -> str:
    text = (REPO / ".ci" / "run").read_text()
    match = re.search(r"^apt_get\(\) \{\n.*?^\}\n", text, re.S | re.M)
    assert match, "the apt_get function of .ci/run"
    return match.group(0)


def fake_apt(tmp_path, locked_tries: int, then: str = "ok"):
    """An apt-get that finds the lock held ``locked_tries`` times, then succeeds or fails."""
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "apt-get"
    fake.write_text(f"""#!/bin/bash
echo "$@" >> {tmp_path}/calls
tries=$(wc -l < {tmp_path}/calls)
if [ "$tries" -le {locked_tries} ]; then
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
  echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
  exit 100
fi
[ "{then}" = ok ] && exit 0
echo "E: Unable to locate package no-such-package" >&2
exit 100
""")
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "APT_LOCK_POLL": "0"}


def call_apt_get(environment, *arguments):
    return subprocess.run(["bash", "-c", f'set -euo pipefail\n{apt_get_function()}\napt_get "$@"', "apt_get",
                           *arguments], env=environment, capture_output=True, text=True, timeout=60)


def test_ci_waits_for_the_package_managers_lock(tmp_path):
    environment = fake_apt(tmp_path, locked_tries=3)
    done = call_apt_get(environment, "update", "-qq")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 4 and all("DPkg::Lock::Timeout=" in call and call.endswith("update -qq") for call in calls)
    assert done.stderr.count("waiting for it") == 1  # said once, not once a try


def test_ci_does_not_wait_on_other_failures_and_shows_them(tmp_path):
    environment = fake_apt(tmp_path, locked_tries=0, then="fail")
    done = call_apt_get(environment, "install", "-y", "no-such-package")
    assert done.returncode == 100 and "Unable to locate package no-such-package" in done.stderr
    assert len((tmp_path / "calls").read_text().splitlines()) == 1


def test_ci_gives_up_waiting_after_its_limit(tmp_path):
    environment = {**fake_apt(tmp_path, locked_tries=10**6), "APT_LOCK_WAIT": "1", "APT_LOCK_POLL": "0.2"}
    done = call_apt_get(environment, "update")
    assert done.returncode == 100 and "Could not get lock" in done.stderr


def test_ci_installs_through_the_waiting_apt_get_only():
    text = (REPO / ".ci" / "run").read_text()
    calls = [line.strip() for line in text.splitlines() if re.search(r"\bapt-get\b", line)
             and not line.lstrip().startswith("#")]
    assert calls and all("LC_ALL=C apt-get -o DPkg::Lock::Timeout=" in call for call in calls), calls
    assert re.search(r"^\s+apt_get update", text, re.M) and re.search(r"apt_get install -y", text)
