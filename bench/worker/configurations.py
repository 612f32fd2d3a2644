"""The three levels of control, applied at the moments they must be applied.

* none  - nothing.
* seeds - PYTHONHASHSEED=0 in the environment before the interpreter starts (the host sets
          it; here it is only verified), then the framework's seed call before every model.
* full  - seeds plus op determinism (a setting before import and/or a call after it).
"""

import os
import sys

CONFIGS = ("none", "seeds", "full")

# What the host must put in a trial's environment before the interpreter starts.
ENVIRONMENT = {
    "none": {},
    "seeds": {"PYTHONHASHSEED": "0"},
    "full": {"PYTHONHASHSEED": "0"},
}


class ControlError(RuntimeError):
    """A configuration could not be applied as specified."""


def check_start_environment(config):
    """Verify what only the parent could set; returns the mechanism lines it confirms."""
    lines = []
    for name, value in sorted(ENVIRONMENT[config].items()):
        if os.environ.get(name) != value:
            raise ControlError("%s=%s must be in the environment before the interpreter starts "
                               "(found %r)" % (name, value, os.environ.get(name)))
        lines.append("%s=%s (set before start)" % (name, value))
    if config != "none" and sys.flags.hash_randomization:
        raise ControlError("hash randomisation is on although PYTHONHASHSEED=0 was requested")
    return lines


def before_import(config, framework):
    return framework.determinism_before_import() if config == "full" else []


def after_import(config, framework):
    return framework.determinism_after_import() if config == "full" else []


def seed_before_model(config, framework, seed):
    """Seed right before each model is built (seeding once and training twice differs)."""
    if config == "none":
        return None
    return framework.seed(seed)
