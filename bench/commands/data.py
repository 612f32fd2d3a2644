"""bench data: prepare the dataset in a folder that containers mount as Keras' cache."""

import shutil
from pathlib import Path

from bench.engines import images
from bench.commands import option_groups
from bench.environments import datasets
from bench.console import say
from bench.trial.jsonfile import write_json_atomic

NAME = "data"
HELP = "prepare the dataset for containers (compose)"
DESCRIPTION = ("Resolve the dataset as `bench run` does, copy its file into --out and write "
               "--out/dataset.json, the description trials read when --out is mounted at "
               f"{images.CONTAINER_DATA_DIR}.")


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="the folder containers mount as Keras' cache")
    option_groups.plan_settings(parser, ("dataset", "data"))


def main(arguments) -> int:
    dataset = datasets.resolve(arguments.dataset, arguments.data, say=say)
    if dataset.notice:
        say(f"note: {dataset.notice}")
    arguments.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dataset.mount, arguments.out / dataset.mount.name)
    _, spec = images.dataset_in_container(dataset)
    write_json_atomic(str(arguments.out / "dataset.json"), spec)
    print(f"{spec['name']} -> {arguments.out}")
    return 0
