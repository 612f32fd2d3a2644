"""The list of trials a run will execute, in the order it will execute them.

Ordered by value: every target x workload x protocol x config gets its first trial, then
its second, and so on, so a run cut short (a time budget, a lent machine taken back) has
covered every cell as evenly as it could, with two trials to compare first. Configurations
are interleaved: repeat r runs the configs rotated by r, so slow drift of the machine
(thermal, background load) hits every configuration alike.

Worker side (Python 3.6) because a container runs whole plans too (``bench.runner.batch``).
"""

import collections
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple

from bench.trial.configurations import SEEDED
from bench.trial.result import PROTOCOL_RUNS

PROTOCOLS = tuple(PROTOCOL_RUNS)

# Experiment settings shared by every trial of a run (recorded in each result).
DEFAULT_SETTINGS = collections.OrderedDict([
    ("epochs", 3),
    ("samples", None),          # first N training examples; None = all
    ("batch_size", 32),         # Keras' default
    ("validation_split", 0.2),
    ("model", "mlp"),
    ("framework", "tf.keras"),
    ("seed", 42),
    ("experiment", None),       # an experiment file's description (bench.trial.user_experiment); None: built in
    ("jit_compile", "auto"),    # --jit-compile: auto (what compile() chose), on or off (bench.trial.experiment)
    ("timed", True),            # False: --no-timing, verdicts only (trials side by side; no times reported)
])


def settings(**changes: Any) -> collections.OrderedDict:
    unknown = set(changes) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError("unknown settings: %s" % ", ".join(sorted(unknown)))
    chosen = collections.OrderedDict(DEFAULT_SETTINGS)
    chosen.update((key, value) for key, value in changes.items() if value is not None)
    if chosen["experiment"] is None:  # recorded only where used
        del chosen["experiment"]
    for name, default in (("timed", True), ("jit_compile", "auto")):  # recorded only where not the default
        if chosen[name] == default:
            del chosen[name]
    return chosen


class Trial(collections.namedtuple("Trial", "trial_id target protocol config repeat framework model")):
    """One trial: what runs it (target: local, an environment, an image), protocol, config,
    and its workload (framework and model; None: the run's settings)."""

    def spec(self, chosen_settings: Mapping[str, Any], dataset_spec: dict) -> dict:
        """The document the worker reads."""
        spec = dict(chosen_settings)
        spec.update(trial_id=self.trial_id, target=self.target, protocol=self.protocol,
                    config=self.config, repeat=self.repeat, dataset=dataset_spec,
                    seed=chosen_settings["seed"] if self.config in SEEDED else None)
        if self.framework is not None:
            spec["framework"] = self.framework
        if self.model is not None:
            spec["model"] = self.model
        return spec


def build(targets: Sequence[str], configs: Iterable[str], protocols: Mapping[str, int],
          workloads: Sequence[Tuple[Optional[str], Optional[str]]] = ((None, None),)) -> List[Trial]:
    """Trials for every target x workload x protocol (with its repeats) x config, by value:
    repeat r of every cell before repeat r+1 of any, configs interleaved.

    ``protocols`` maps a protocol name to its number of repeats; ``workloads`` lists
    (framework, model) pairs. With several workloads, trial ids name the framework and model.
    """
    configs = list(configs)
    several = len(workloads) > 1
    trials = []
    for repeat in range(1, max(protocols.values()) + 1 if protocols else 1):
        shift = (repeat - 1) % len(configs)
        for target in targets:
            for framework, model in workloads:
                for protocol, repeats in protocols.items():
                    if repeat > repeats:
                        continue
                    for config in configs[shift:] + configs[:shift]:
                        parts = [target] + ([framework, model] if several else []) + [protocol, config]
                        trial_id = "%s--r%02d" % ("--".join(parts), repeat)
                        trials.append(Trial(trial_id, target, protocol, config, repeat, framework, model))
    return trials


def workloads(frameworks: Iterable[str], models: Sequence[str]) -> List[Tuple[str, str]]:
    """Every (framework, model) pair of the given lists, in their order."""
    return [(framework, model) for framework in frameworks for model in models]
