"""bench envs: create, list or remove the virtual environment of each TF version."""

import json

from bench.environments import catalog, envs
from bench.commands import option_groups
from bench.console import say
from bench.errors import UsageError, UserError

NAME = "envs"
HELP = "create, list or remove per-version TF environments"
DESCRIPTION = ("One virtual environment per TF version, with a Python the catalog lists for it "
               "(pyenv's, python3.X on PATH, or --python) and tensorflow-cpu at the newest patch "
               "pip can install there with the catalog's pins. `bench run --tf ...` uses them.")


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=("create", "list", "remove"))
    parser.add_argument("versions", nargs="*", metavar="VERSION",
                        help="TF versions, e.g. 2.1 2.8 2.21, or all; or keras3 (standalone Keras 3 "
                             "with jax, torch and tensorflow backends)")
    parser.add_argument("--python", metavar="EXE", help="create: the interpreter to use (one version only)")
    option_groups.plan_settings(parser, ("envs_dir",))
    parser.add_argument("--force", action="store_true", help="create: replace an existing environment")
    parser.add_argument("--json", action="store_true", help="list: print the environments' records as JSON")


def main(arguments) -> int:
    envs_root = envs.root(arguments.envs_dir)
    if arguments.action == "list":
        found = envs.existing(envs_root)
        if arguments.json:
            print(json.dumps([dict(environment.record, path=str(environment.path)) for environment in found],
                             indent=1))
        for environment in [] if arguments.json else found:
            print(envs.describe(environment))
        return 0
    if not arguments.versions:
        raise UsageError(f"bench envs {arguments.action} needs versions, e.g. 2.1 2.21 (or all)")
    versions = catalog.environment_list(",".join(arguments.versions))
    if arguments.python and len(versions) > 1:
        raise UsageError("--python applies to one version at a time")
    failed = []
    for version in versions:
        if arguments.action == "remove":
            say(f"TF {version.minor}: {'removed' if envs.remove(envs_root, version.minor) else 'no environment'}")
            continue
        existing = envs.load(envs_root, version.minor)
        if existing and not arguments.force:
            say(f"TF {version.minor}: exists ({existing.path}); --force replaces it")
            continue
        try:  # one version that cannot be installed here must not stop the others
            envs.create(envs_root, version, envs.choose_python(version, arguments.python), say=say)
        except UsageError:
            raise
        except UserError as error:
            say(f"error: {error}")
            failed.append(version.minor)
    if failed:
        raise UserError(f"no environment for TF {', '.join(failed)} (see above)")
    return 0
