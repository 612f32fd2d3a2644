"""bench images: build (or list) the worker images of TF versions."""

from bench.commands import option_groups
from bench.environments import catalog
from bench.console import say


NAME = "images"
HELP = "build or list worker images"
DESCRIPTION = ("build: make the worker image of each --tf version and --variant from the "
               "repository's Dockerfile (reused while current); list: show the catalog's images.")


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=("build", "list"))
    option_groups.plan_settings(parser, ("tf", "variant"), defaults={"tf": "all"})
    option_groups.images(parser)


def main(arguments) -> int:
    from bench.engines import hosts, images
    versions = catalog.parse_list(arguments.tf)
    if arguments.action == "list":
        for version in versions:
            print(f"{version.minor:<5} {images.image_name(version, arguments.variant):<34} "
                  f"FROM {images.base_image(version, arguments.variant)}")
        return 0
    hosts = [hosts.connect(url) for url in (arguments.hosts or [None])]
    for version in versions:
        built = images.ensure_everywhere(hosts, version, arguments.variant, rebuild=arguments.rebuild,
                                         ca_bundle=arguments.ca_bundle, say=say)
        for host, image in zip(hosts, built):
            print(f"{image.name} {image.id} on {host.given or host.base_url}")
    return 0


