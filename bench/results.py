"""Read result trees back, checked against the schema (the writing side is bench.worker.tree)."""

from pathlib import Path

from bench import upgrade
from bench.errors import UsageError, UserError
from bench.worker import SCHEMA_VERSION, controls
from bench.worker.jsonfile import read_json
from bench.worker.outcomes import STATUSES
from bench.worker.plan import PROTOCOL_RUNS


class ResultError(UserError):
    """A result file is unreadable or does not follow the schema; the message names it."""


def trial_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in map(Path, paths):
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(p for p in path.rglob("trials/*.json") if ".staging" not in p.parts))
        else:
            raise UsageError(f"{path}: no such file or folder; give a results folder made by `bench run`")
    if not files:
        raise ResultError(f"no trial results under {', '.join(map(str, paths))}; run `bench run --out DIR` first")
    return files


def tree_of(result: dict) -> Path:
    """The result tree a loaded result came from (its file is TREE/trials/<id>.json)."""
    return Path(result["_source"]).parent.parent


def scan(paths: list[Path]) -> tuple[list[dict], list[str]]:
    """Every valid trial result under the given trees or files, and a line per bad file."""
    results, problems = [], []
    for file in trial_files(paths):
        try:
            document = read_json(str(file))
        except (OSError, ValueError) as error:
            problems.append(f"{file}: not readable JSON ({error})")
            continue
        try:
            document = upgrade.to_current(document) if isinstance(document, dict) else document
        except upgrade.UpgradeError as error:
            problems.append(f"{file}: {error}")
            continue
        found = problems_of(document)
        if found:
            problems.append(f"{file}: {'; '.join(found)}")
            continue
        document["_source"] = str(file)
        results.append(document)
    return results, problems


def load(paths: list[Path]) -> list[dict]:
    """Every trial result under the given trees or files, validated; raises on the first bad one."""
    results, problems = scan(paths)
    if problems:
        raise ResultError(problems[0])
    return results


def problems_of(document) -> list[str]:
    """What is wrong with a trial result document (empty when it is valid)."""
    if not isinstance(document, dict):
        return ["not a JSON object"]
    if document.get("schema_version") != SCHEMA_VERSION:
        return [f"schema_version is {document.get('schema_version')!r}, this code reads 1 to {SCHEMA_VERSION}"]
    problems = [f"missing field {field!r}" for field in ("spec", "status", "runs", "error")
                if field not in document]
    if problems:
        return problems
    spec, status, runs = document["spec"], document["status"], document["runs"]
    for field in ("trial_id", "config", "protocol", "epochs", "dataset"):
        if field not in spec:
            problems.append(f"spec lacks {field!r}")
    if status not in STATUSES:
        problems.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if status == "ok":
        expected = PROTOCOL_RUNS.get(spec.get("protocol"))
        if len(runs) != expected:
            problems.append(f"an ok {spec.get('protocol')} trial needs {expected} runs, has {len(runs)}")
        for index, run in enumerate(runs):
            for field, kind in (("history", dict), ("weights_sha256", str), ("fit_seconds", float),
                                ("epoch_seconds", list)):
                if not isinstance(run.get(field), kind):
                    problems.append(f"runs[{index}].{field} missing or not {kind.__name__}")
    elif not isinstance(document["error"], dict):
        problems.append(f"a {status} trial needs an error object")
    problems += _mechanism_problems(document.get("mechanism", []))
    return problems


def _mechanism_problems(mechanism) -> list[str]:
    if not isinstance(mechanism, list):
        return ["mechanism is not a list"]
    for index, entry in enumerate(mechanism):
        if not isinstance(entry, dict) or any(name not in entry for name in controls.FIELDS):
            return [f"mechanism[{index}] is not an entry with {', '.join(controls.FIELDS)}"]
        if entry["role"] not in controls.ROLES or entry["how"] not in controls.HOWS or entry["when"] not in controls.WHEN:
            return [f"mechanism[{index}] has an unknown role, how or when: {entry}"]
    return []

