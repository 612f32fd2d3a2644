# Stand-in for the official python:X.Y-slim image where no registry can be reached: a Debian
# root made by debootstrap, with python, python3 and pip on PATH in /usr/local, pip-installable
# (a virtual environment there, since Debian's own Python refuses pip installs).
ARG ROOT_IMAGE=repro-bench/debian-root:bookworm
FROM ${ROOT_IMAGE}
RUN python3 -m venv /usr/local && python3 -m pip --version
CMD ["python3"]
