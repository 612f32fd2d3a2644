"""bench images: build (or list) the worker images of TF versions."""

from bench import catalog
from bench.console import say


NAME = "images"
HELP = "build or list worker images"
DESCRIPTION = ("build: make the worker image of each --tf version and --variant from the "
               "repository's Dockerfile (reused while current); list: show the catalog's images.")


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=("build", "list"))
    parser.add_argument("--tf", default="all", metavar="LIST", help="versions, e.g. 2.1,2.8 (default: all)")
    parser.add_argument("--variant", default="gpu", choices=catalog.VARIANTS, help="default: gpu")
    parser.add_argument("--docker-host", metavar="URL", help="default: DOCKER_HOST or the local socket")
    parser.add_argument("--ca-bundle", metavar="PEM", help="extra CA bundle for pip, as a BuildKit secret")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if current")


def main(arguments) -> int:
    from bench import docker_backend, images
    versions = catalog.parse_list(arguments.tf)
    if arguments.action == "list":
        for version in versions:
            print(f"{version.minor:<5} {images.image_name(version, arguments.variant):<34} "
                  f"FROM {images.base_image(version, arguments.variant)}")
        return 0
    client = docker_backend.connect(arguments.docker_host)
    for version in versions:
        image = images.ensure(client, version, arguments.variant, rebuild=arguments.rebuild,
                              ca_bundle=arguments.ca_bundle, docker_host=arguments.docker_host, say=say)
        print(f"{image.name} {image.id}")
    return 0


