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
    parser.add_argument("--host", dest="hosts", action="append", metavar="URL",
                        help="Docker engine(s): URL or context; repeat for several (default: DOCKER_HOST "
                             "or the local socket); the image is built on the first, copied to the others")
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
    hosts = [docker_backend.connect(url) for url in (arguments.hosts or [None])]
    for version in versions:
        built = images.ensure_everywhere(hosts, version, arguments.variant, rebuild=arguments.rebuild,
                                         ca_bundle=arguments.ca_bundle, say=say)
        for host, image in zip(hosts, built):
            print(f"{image.name} {image.id} on {host.given or host.base_url}")
    return 0


