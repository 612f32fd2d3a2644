"""The list of trials a run will execute, in the order it will execute them.

Configurations are interleaved: repeat r runs the configs rotated by r, so slow drift of
the machine (thermal, background load) hits every configuration alike.

Worker side (Python 3.6) because a container runs whole plans too (``bench.worker.batch``).
"""

import collections

from bench.worker.configurations import CONFIGS

# How many times one trial trains: a fresh process once; the article's loop twice in one process.
PROTOCOL_RUNS = {"process": 1, "in-process": 2}
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
])


def settings(**changes):
    unknown = set(changes) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError("unknown settings: %s" % ", ".join(sorted(unknown)))
    chosen = collections.OrderedDict(DEFAULT_SETTINGS)
    chosen.update((key, value) for key, value in changes.items() if value is not None)
    return chosen


class Trial(collections.namedtuple("Trial", "trial_id target protocol config repeat")):
    """One trial: what runs it (target: local, an environment, an image), protocol, config."""

    def spec(self, chosen_settings, dataset_spec):
        """The document the worker reads."""
        spec = dict(chosen_settings)
        spec.update(trial_id=self.trial_id, target=self.target, protocol=self.protocol,
                    config=self.config, repeat=self.repeat, dataset=dataset_spec,
                    seed=None if self.config == "none" else chosen_settings["seed"])
        return spec


def build(targets, configs, protocols):
    """Trials for every target x protocol (with its repeats) x config, configs interleaved.

    ``protocols`` maps a protocol name to its number of repeats.
    """
    configs = list(configs)
    trials = []
    for target in targets:
        for protocol, repeats in protocols.items():
            for repeat in range(1, repeats + 1):
                shift = (repeat - 1) % len(configs)
                for config in configs[shift:] + configs[:shift]:
                    trial_id = "%s--%s--%s--r%02d" % (target, protocol, config, repeat)
                    trials.append(Trial(trial_id, target, protocol, config, repeat))
    return trials


def unknown_names(configs, protocols):
    """A message naming the first unknown config or protocol, or None."""
    for config in configs:
        if config not in CONFIGS:
            return "unknown config %r; choose from %s" % (config, ", ".join(CONFIGS))
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            return "unknown protocol %r; choose from %s" % (protocol, ", ".join(PROTOCOLS))
    return None
