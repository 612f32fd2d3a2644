"""The list of trials a run will execute, in the order it will execute them.

Configurations are interleaved: repeat r runs the configs rotated by r, so slow drift of
the machine (thermal, background load) hits every configuration alike.
"""

from dataclasses import asdict, dataclass

from bench.errors import UsageError
from bench.worker.configurations import CONFIGS
from bench.worker.trial import PROTOCOL_RUNS

PROTOCOLS = tuple(PROTOCOL_RUNS)


@dataclass(frozen=True)
class Settings:
    """Experiment settings shared by every trial of a run (recorded in each result)."""

    epochs: int = 3
    samples: int | None = None   # first N training examples; None = all
    batch_size: int = 32         # Keras' default
    validation_split: float = 0.2
    model: str = "mlp"
    framework: str = "tf.keras"
    seed: int = 42


@dataclass(frozen=True)
class Trial:
    trial_id: str
    target: str      # what runs it: "local", a TF environment, an image
    protocol: str
    config: str
    repeat: int      # 1-based

    def spec(self, settings: Settings, dataset_spec: dict) -> dict:
        """The document the worker reads."""
        spec = asdict(settings)
        spec.update(trial_id=self.trial_id, target=self.target, protocol=self.protocol,
                    config=self.config, repeat=self.repeat, dataset=dataset_spec,
                    seed=None if self.config == "none" else settings.seed)
        return spec


def build(targets: list[str], configs: list[str], protocols: dict[str, int]) -> list[Trial]:
    """Trials for every target x protocol (with its repeats) x config, configs interleaved."""
    trials = []
    for target in targets:
        for protocol, repeats in protocols.items():
            for repeat in range(1, repeats + 1):
                shift = (repeat - 1) % len(configs)
                for config in configs[shift:] + configs[:shift]:
                    trial_id = f"{target}--{protocol}--{config}--r{repeat:02d}"
                    trials.append(Trial(trial_id, target, protocol, config, repeat))
    return trials


def check_names(configs: list[str], protocols: list[str]) -> None:
    for config in configs:
        if config not in CONFIGS:
            raise UsageError(f"unknown config {config!r}; choose from {', '.join(CONFIGS)}")
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise UsageError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
