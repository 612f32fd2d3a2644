"""The levels of control, applied at the moments they must be applied.

* none  - nothing.
* seeds - PYTHONHASHSEED=0 in the environment before the interpreter starts (the host sets
          it; here it is only verified), then the framework's seed call before every model.
* full  - seeds plus op determinism (a setting before import and/or a call after it).
* ops   - op determinism without any seed: not in the default plan; it checks what the seed
          article says of it (from TF 2.7 a random op without a seed raises under op
          determinism; an op with no deterministic kernel raises UnimplementedError), an
          outcome of its own (``refused``), never a crash.
"""

import os
import sys
from typing import List, Optional

from bench.trial import controls
from bench.trial.frameworks import Framework

CONFIGS = ("none", "seeds", "full", "ops")
DEFAULT_CONFIGS = ("none", "seeds", "full")   # a plan's, unless --configs names others
SEEDED = ("seeds", "full")                   # seeded before every model (and PYTHONHASHSEED=0)
DETERMINISTIC = ("full", "ops")              # op determinism switched on

# What the host must put in a trial's environment before the interpreter starts.
ENVIRONMENT = {config: {"PYTHONHASHSEED": "0"} if config in SEEDED else {} for config in CONFIGS}


class ControlError(RuntimeError):
    """A configuration could not be applied as specified."""


def check_start_environment(config: str) -> List[dict]:
    """Verify what only the parent could set; returns the control entries it confirms."""
    entries = []
    for name, value in sorted(ENVIRONMENT[config].items()):
        if os.environ.get(name) != value:
            raise ControlError("%s=%s must be in the environment before the interpreter starts "
                               "(found %r)" % (name, value, os.environ.get(name)))
        entries.append(controls.environment("hash seed", name, value))
    if config in SEEDED and sys.flags.hash_randomization:
        raise ControlError("hash randomisation is on although PYTHONHASHSEED=0 was requested")
    return controls.at(controls.BEFORE_START, entries)


def before_import(config: str, framework: Framework) -> List[dict]:
    entries = framework.determinism_before_import() if config in DETERMINISTIC else []
    return controls.at(controls.BEFORE_IMPORT, entries)


def after_import(config: str, framework: Framework) -> List[dict]:
    entries = framework.determinism_after_import() if config in DETERMINISTIC else []
    return controls.at(controls.AFTER_IMPORT, entries)


def seed_before_model(config: str, framework: Framework, seed: Optional[int]) -> List[dict]:
    """Seed right before each model is built (seeding once and training twice differs);
    returns the entries applied."""
    if config not in SEEDED:
        return []
    return controls.at(controls.BEFORE_EACH_MODEL, framework.seed(seed))
