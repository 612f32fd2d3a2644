"""bench gpus: the GPUs of this machine, as nvidia-smi describes them."""

import json

from bench.trial import gpus

NAME = "gpus"
HELP = "list this machine's GPUs (nvidia-smi)"
DESCRIPTION = "List GPUs by index with name, UUID, driver, memory and compute capability (nvidia-smi)."


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def main(arguments) -> int:
    found = gpus.query()
    if arguments.json:
        print(json.dumps(found, indent=1))
    elif not found:
        print("no GPU found (nvidia-smi is missing or sees none)")
    for gpu in [] if arguments.json else found:
        print(f"{gpu['index']}  {gpu['name']:<28} {gpu['uuid']}  driver {gpu.get('driver', '?')}  "
              f"{gpu.get('memory_mib', '?')} MiB  compute {gpu.get('compute_capability', '?')}")
    return 0
