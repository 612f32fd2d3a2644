"""python -m bench.trial [--until-stdin-closes [--held]] SPEC.json RESULT.json  |  --probe  |
   --probe-framework NAME  |  --probe-data SPEC.json

Exit status: 0 trial ok, 3 trial failed (its result is written), 2 unusable arguments or
spec (no result), 4 stopped because the runner went away (no result). Any other status
means the worker itself died; the host records that. ``--until-stdin-closes``: the runner
holds the other end of stdin; when it closes, however the runner ended, the trial stops at
once, so that no worker ever outlives its runner. ``--held`` (an overlapped start): after
importing its framework and loading its data, the trial puts an empty file ``ready`` beside
RESULT.json and waits for the runner to write to that pipe before it seeds or builds
anything (bench.trial.lifeline). ``--probe`` says what is installed
without importing it; ``--probe-framework`` imports one framework as a trial would and says
what it sees (exit 3 with one line where it cannot); ``--probe-data`` loads a spec's data as
its trial would (the framework imported, the experiment file's ``load_data`` called) and says
how many examples there are, so that a run can refuse ``--samples`` beyond them before any
trial (exit 3 with the error's first line where loading fails).
"""

import functools
import json
import os
import sys
from typing import List

from bench.trial import installed, jsonfile, result_file
from bench.trial.exits import EXIT_OK, EXIT_TRIAL_FAILED, EXIT_USAGE
from bench.trial.lifeline import READY_FILE, Lifeline


def probe() -> dict:
    """What this interpreter offers, without importing TensorFlow (fast)."""
    import platform
    from bench.trial.fingerprint import cpu_model
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "tensorflow": installed.tensorflow_version(),
        "keras": installed.distribution_version(["keras"]),
        "jax": installed.distribution_version(["jax"]),
        "torch": installed.distribution_version(["torch"]),
        "cpu_model": cpu_model(),
    }


def probe_framework(name: str) -> dict:
    """Import one framework as a trial would (the preflight): its versions, its GPUs, and the
    native stack it loaded doing so (bench.trial.loaded)."""
    from bench.trial import frameworks, loaded
    framework = frameworks.create(name)
    framework.load()
    return {"framework": name, "software": framework.software(), "gpus": framework.gpus(), "loaded": loaded.stack()}


def probe_data(spec_path: str) -> dict:
    """Load a spec's data as its trial would: how many examples, in which shapes."""
    from bench.trial import data, experiment, frameworks, user_experiment
    spec = jsonfile.read_json(spec_path)
    framework = frameworks.create(spec["framework"])
    keras = framework.load()
    chosen = (user_experiment.UserExperiment(spec["experiment"]) if spec.get("experiment") else
              experiment.shipped(spec["model"]))
    x, y, described = data.load(spec["dataset"], None, keras, chosen)
    return dict(described, shapes=data.shapes(x, y))


PROBES = {"--probe-framework": probe_framework, "--probe-data": probe_data}


def main(argv: List[str]) -> int:
    if argv == ["--probe"]:
        print(json.dumps(probe()))
        return EXIT_OK
    if len(argv) == 2 and argv[0] in PROBES:
        try:
            found = PROBES[argv[0]](argv[1])
        except Exception as error:  # what is missing or failing, in one line, for the host to show
            text = str(error).strip()
            sys.stderr.write("%s: %s\n" % (type(error).__name__, text.splitlines()[0] if text else ""))
            return EXIT_TRIAL_FAILED
        print(json.dumps(found))
        return EXIT_OK
    hold = None
    if argv[:1] == ["--until-stdin-closes"]:
        argv = argv[1:]
        runner = Lifeline()
        if argv[:1] == ["--held"] and len(argv) == 3:
            argv = argv[1:]
            ready = os.path.join(os.path.dirname(os.path.abspath(argv[1])), READY_FILE)
            hold = functools.partial(runner.wait_for_release, ready)
    if len(argv) != 2:
        sys.stderr.write("usage: python -m bench.trial [--until-stdin-closes [--held]] SPEC.json RESULT.json "
                         "| --probe | --probe-framework NAME | --probe-data SPEC.json\n")
        return EXIT_USAGE
    spec_path, result_path = argv
    from bench.trial import trial  # needs numpy; the probe above must not
    try:
        spec = jsonfile.read_json(spec_path)
        result = trial.run(spec, output_dir=os.path.dirname(os.path.abspath(result_path)), hold=hold)
    except (OSError, ValueError) as error:  # unreadable or malformed spec
        sys.stderr.write("error: %s\n" % error)
        return EXIT_USAGE
    result_file.write(result_path, result)
    return EXIT_OK if result["status"] == "ok" else EXIT_TRIAL_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
