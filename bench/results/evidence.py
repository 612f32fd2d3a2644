"""What a trial must have recorded applying, by framework and config (``bench check``).

Written from each framework's documentation, independently of the worker code that applies
the controls, so that the check can catch a worker that applies too little:

* every config but none: ``PYTHONHASHSEED=0`` in the environment before start, and the
  framework's seed call with the trial's seed before each model: for tf.keras the catalog's
  seed API of that TF version (``tf.keras.utils.set_random_seed`` from 2.7, the three calls
  ``random.seed``, ``numpy.random.seed`` and ``tf.random.set_seed`` before), for Keras 3
  ``keras.utils.set_random_seed``;
* full, besides: tf.keras, the catalog's switch of that version (``TF_DETERMINISTIC_OPS=1``
  before import up to 2.7, ``tf.config.experimental.enable_op_determinism()`` from 2.8);
  Keras 3 on tensorflow, the same call; on jax, ``--xla_gpu_deterministic_ops=true`` in
  ``XLA_FLAGS`` before import; on torch, ``torch.use_deterministic_algorithms(True)`` after
  import with ``CUBLAS_WORKSPACE_CONFIG`` (``:4096:8`` or ``:16:8``) before CUDA starts;
* ops (op determinism without seeds): full's switch, and no seed, no seed call and no
  PYTHONHASHSEED;
* none records no control, and seeds no determinism switch.

A switch made through the environment must also be in the environment the trial recorded.
"""

from dataclasses import dataclass

from bench.environments import catalog
from bench.errors import UserError
from bench.trial import controls
from bench.trial.configurations import DETERMINISTIC, SEEDED


@dataclass(frozen=True)
class Required:
    role: str
    how: str
    name: str
    when: str
    values: tuple = ()          # accepted values; empty: the trial's seed (seed calls)
    contains: bool = False      # environment: the value is one flag among others

    def describe(self) -> str:
        shown = "|".join(map(str, self.values)) if self.values else "<seed>"
        if self.how == "environment":
            return f"{self.name}={'...' if self.contains else ''}{shown} ({self.when})"
        return f"{self.name}({shown if self.values != (None,) else ''}) ({self.when})"

    def met_by(self, entry: dict, seed: int | None) -> bool:
        if (entry.get("role"), entry.get("how"), entry.get("name"), entry.get("when")) != \
                (self.role, self.how, self.name, self.when):
            return False
        value = entry.get("value")
        if not self.values:
            return isinstance(value, int) and not isinstance(value, bool) and value == seed
        if self.contains:
            return isinstance(value, str) and any(flag in value.split() for flag in self.values)
        return value in self.values


HASH_SEED = Required("hash seed", "environment", "PYTHONHASHSEED", controls.BEFORE_START, ("0",))
KERAS3_SEED = (Required("seed", "call", "keras.utils.set_random_seed", controls.BEFORE_EACH_MODEL),)
ENABLE_OP_DETERMINISM = Required("determinism", "call", "tf.config.experimental.enable_op_determinism",
                                 controls.AFTER_IMPORT, (None,))
KERAS3_FULL = {
    "tensorflow": (ENABLE_OP_DETERMINISM,),
    "jax": (Required("determinism", "environment", "XLA_FLAGS", controls.BEFORE_IMPORT,
                     ("--xla_gpu_deterministic_ops=true",), contains=True),),
    "torch": (Required("determinism", "call", "torch.use_deterministic_algorithms", controls.AFTER_IMPORT, (True,)),
              Required("determinism", "environment", "CUBLAS_WORKSPACE_CONFIG", controls.BEFORE_IMPORT,
                       (":4096:8", ":16:8"))),
}


def required(framework: str, tensorflow: str | None, config: str) -> tuple[Required, ...]:
    """What a trial of this framework (and TF version, for tf.keras) must record under config."""
    if config == "none":
        return ()
    if framework == "tf.keras":
        version = _catalog_entry(tensorflow)
        seeds = tuple(Required("seed", "call", name.strip(), controls.BEFORE_EACH_MODEL)
                      for name in version.seed_api.split("+"))
        switches = (Required("determinism", "environment", "TF_DETERMINISTIC_OPS", controls.BEFORE_IMPORT, ("1",))
                    if version.determinism.startswith("TF_DETERMINISTIC_OPS") else ENABLE_OP_DETERMINISM,)
    else:
        backend = framework.split("-", 1)[1] if framework.startswith("keras3-") else None
        if backend not in KERAS3_FULL:
            raise UserError(f"framework {framework!r} is unknown to bench check")
        seeds, switches = KERAS3_SEED, KERAS3_FULL[backend]
    return ((HASH_SEED, *seeds) if config in SEEDED else ()) + (switches if config in DETERMINISTIC else ())


def problems(result: dict) -> list[str]:
    """What is wrong with an ok trial's record of the controls it applied (empty: nothing)."""
    if result["status"] != "ok":
        return []
    spec, mechanism = result["spec"], result.get("mechanism", [])
    config, seed = spec["config"], spec.get("seed")
    framework = spec.get("framework", "tf.keras")
    environment = result.get("environment") or {}
    if config == "none":
        wrong = [f"config none records seed {seed}"] if seed is not None else []
        if mechanism:
            wrong.append(f"config none records controls: {'; '.join(entry.get('text', '?') for entry in mechanism)}")
        if environment.get("PYTHONHASHSEED") is not None:
            wrong.append(f"config none ran with PYTHONHASHSEED={environment['PYTHONHASHSEED']}")
        return wrong
    wrong = []
    if config in SEEDED and (not isinstance(seed, int) or isinstance(seed, bool)):
        wrong.append(f"config {config} records no seed")
    if config not in SEEDED:
        seeding = [entry.get("text", "?") for entry in mechanism if entry.get("role") in ("seed", "hash seed")]
        seeding += [f"seed {seed}"] if seed is not None else []
        seeding += ([f"PYTHONHASHSEED={environment['PYTHONHASHSEED']} in its environment"]
                    if environment.get("PYTHONHASHSEED") is not None else [])
        if seeding:
            wrong.append(f"config {config} is unseeded, yet records {'; '.join(seeding)}")
    try:
        needed = required(framework, (result.get("software") or {}).get("tensorflow"), config)
    except UserError as error:
        return wrong + [str(error)]
    for requirement in needed:
        if not any(requirement.met_by(entry, seed) for entry in mechanism):
            wrong.append(f"config {config} ({framework}) records no {requirement.describe()}")
        elif requirement.how == "environment" and not _in_environment(requirement, environment):
            wrong.append(f"config {config} recorded {requirement.name} but ran with "
                         f"{requirement.name}={environment.get(requirement.name)!r}")
    if config not in DETERMINISTIC:
        switches = [entry.get("text", "?") for entry in mechanism if entry.get("role") == "determinism"]
        if switches:
            wrong.append(f"config seeds records determinism switches: {'; '.join(switches)}")
    return wrong


def _in_environment(requirement: Required, environment: dict) -> bool:
    value = environment.get(requirement.name)
    if requirement.contains:
        return isinstance(value, str) and any(flag in value.split() for flag in requirement.values)
    return value in requirement.values


def _catalog_entry(tensorflow: str | None):
    if not tensorflow:
        raise UserError("the trial records no TensorFlow version, so its switches cannot be checked")
    try:
        return catalog.lookup(tensorflow)
    except UserError:
        raise UserError(f"TF {tensorflow} is not in the catalog (bench/data/catalog.json): "
                        "its switches cannot be checked") from None
