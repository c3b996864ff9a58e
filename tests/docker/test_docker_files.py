"""Static checks of docker/: compose file, Dockerfile, KubeRay and cluster-launcher YAML, docs.

There is no Docker engine or Kubernetes cluster here. These tests check what can be checked
without one: the files parse; services, images, ports, volumes, health checks and environment
agree with each other; every `ray start`, `octsearch` and health-check command line they (and
docker/README.md) run is accepted by the real parser; the Dockerfile passes hadolint; the
launcher YAML passes Ray's own schema and config validation.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from docker_helpers import (
    BASE_ENV,
    COMPOSE_FILE,
    DOCKER,
    DOCKERFILE,
    DOCS_FILE,
    KUBERAY_FILE,
    LAUNCHER_FILE,
    REPO,
    TEST_TOKEN,
    ComposeVariableError,
    OctsearchUsageError,
    doc_commands,
    dockerfile,
    dockerfile_args,
    dockerfile_instructions,
    dockerignored,
    interpolate_text,
    load_compose,
    parse_octsearch,
    parse_ray_start,
    program_calls,
    ray_start_flags,
    service_command,
    service_env,
)

import octsearch
from octsearch.spaces.locate import find_space
from octsearch.store.urls import resolve_url

RAY_SERVICES = ("ray-head", "ray-worker", "search")
IMAGE = f"octsearch:{octsearch.__version__}"


def _bin(name: str) -> str:
    """A tool installed by the test extra: next to this Python, else on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} is not installed; install the test extra: pip install -e '.[test]'"
    return found


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), DOCKER / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def kuberay() -> dict[str, Any]:
    return yaml.safe_load(KUBERAY_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def launcher() -> dict[str, Any]:
    return yaml.safe_load(LAUNCHER_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def docs() -> list[list[str]]:
    return list(doc_commands(DOCS_FILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def df() -> Any:
    return dockerfile()


# -- the helpers themselves reject what the real tools reject ----------------------------------


def test_parsers_reject_bad_command_lines() -> None:
    with pytest.raises(click.UsageError):
        parse_ray_start(["--head", "--no-such-flag"])
    with pytest.raises(OctsearchUsageError):
        parse_octsearch(["launch", "default"])  # --name is required
    with pytest.raises(OctsearchUsageError):
        parse_octsearch(["no-such-command"])
    with pytest.raises(ComposeVariableError):
        interpolate_text("${X:?set X}", {})
    assert interpolate_text("a${X:-b}c$${Y}", {}) == "abc${Y}"
    assert dockerignored(".venv/bin/python") and not dockerignored("octsearch/cli/main.py")


# -- compose.yaml ------------------------------------------------------------------------------


def test_compose_services_and_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "ray-head", "ray-worker", "search"}
    assert services["search"]["profiles"] == ["search"]  # `up` leaves the driver out
    for name in ("postgres", "ray-head", "ray-worker"):
        assert "profiles" not in services[name]
    # --scale ray-worker=N needs neither a fixed container name nor a fixed host port
    assert "container_name" not in services["ray-worker"] and "ports" not in services["ray-worker"]


def test_compose_octsearch_services_build_one_image_from_the_repo(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in RAY_SERVICES:
        service = services[name]
        assert service["image"] == IMAGE, name
        context = (COMPOSE_FILE.parent / service["build"]["context"]).resolve()
        assert context == REPO, name
        assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE, name
    build_args = services["ray-head"]["build"]["args"]
    assert build_args["TORCH_INDEX"] == dockerfile_args()["TORCH_INDEX"]
    assert set(build_args) <= set(dockerfile_args())
    repo, _, tag = services["postgres"]["image"].partition(":")
    assert repo == "postgres" and tag.split("-")[0] == "16"


def test_compose_publishes_ports_on_loopback_only(compose: dict[str, Any]) -> None:
    published = {}
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            host_ip, host_port, container_port = str(mapping).split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {mapping} beyond loopback"
            published[name] = (int(host_port), int(container_port))
    assert published == {"postgres": (5432, 5432), "ray-head": (8265, 8265)}
    head = parse_ray_start(service_command(compose["services"]["ray-head"])[2:])
    assert head["dashboard_host"] == "0.0.0.0"  # reachable through the published port
    assert (head["dashboard_port"] or 8265) == published["ray-head"][1]
    moved = load_compose({**BASE_ENV, "POSTGRES_HOST_PORT": "55432"})
    assert moved["services"]["postgres"]["ports"] == ["127.0.0.1:55432:5432"]


@pytest.mark.parametrize("env", [
    {},
    {"POSTGRES_USER": "alice", "POSTGRES_PASSWORD": "s3cret", "POSTGRES_DB": "runs"},
], ids=["defaults", "custom"])
def test_compose_store_url_agrees_with_postgres(env: dict[str, str]) -> None:
    services = load_compose({**BASE_ENV, **env})["services"]
    pg = service_env(services["postgres"])
    container_port = int(services["postgres"]["ports"][0].split(":")[-1])
    for name in ("ray-head", "search"):
        url = resolve_url(service_env(services[name])["OCTSEARCH_DB"])
        assert url.drivername == "postgresql+psycopg"
        assert url.host == "postgres" and "postgres" in services  # the service's DNS name
        assert url.port == container_port == 5432
        assert (url.username, url.password, url.database) == (
            pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]), name
    assert "OCTSEARCH_DB" not in service_env(services["ray-worker"])  # only the driver writes


def test_compose_ray_addresses_agree(compose: dict[str, Any]) -> None:
    services = compose["services"]
    head_cmd, worker_cmd = service_command(services["ray-head"]), service_command(services["ray-worker"])
    assert head_cmd[:2] == worker_cmd[:2] == ["ray", "start"]
    head, worker = parse_ray_start(head_cmd[2:]), parse_ray_start(worker_cmd[2:])
    assert head["head"] and head["block"] and not worker["head"] and worker["block"]
    assert head["num_cpus"] == 1 and worker["num_cpus"] == 2
    assert _host_port(worker["address"]) == ("ray-head", head["port"]) == ("ray-head", 6379)
    search_env = service_env(services["search"])
    assert _host_port(search_env["OCTSEARCH_JOIN_RAY"]) == ("ray-head", head["port"])
    launch = parse_octsearch(service_command(services["search"])[1:])
    assert launch.command == "launch" and _host_port(launch.address) == ("ray-head", head["port"])
    scaled = load_compose({**BASE_ENV, "RAY_WORKER_CPUS": "8", "RAY_HEAD_CPUS": "0"})["services"]
    assert parse_ray_start(service_command(scaled["ray-worker"])[2:])["num_cpus"] == 8
    assert parse_ray_start(service_command(scaled["ray-head"])[2:])["num_cpus"] == 0


def test_compose_ray_services_share_one_token(compose: dict[str, Any], df: Any) -> None:
    for name in RAY_SERVICES:
        env = service_env(compose["services"][name])
        assert env["RAY_AUTH_MODE"] == "token", name
        assert env["RAY_AUTH_TOKEN"] == TEST_TOKEN, name
    assert df.envs["RAY_AUTH_MODE"] == "token"
    with pytest.raises(ComposeVariableError, match="RAY_AUTH_TOKEN"):
        load_compose({})  # no docker/.env: compose refuses to start instead of running open


def test_compose_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if rule.get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}, which has no healthcheck"
    assert services["ray-worker"]["depends_on"] == {"ray-head": {"condition": "service_healthy"}}
    assert set(services["search"]["depends_on"]) == {"postgres", "ray-head"}


def test_compose_healthchecks_run_real_commands(compose: dict[str, Any], df: Any) -> None:
    services = compose["services"]
    pg_test = services["postgres"]["healthcheck"]["test"]
    assert pg_test[0] == "CMD-SHELL"
    # after interpolation `$${POSTGRES_USER}` is the container shell's ${POSTGRES_USER}
    assert shlex.split(pg_test[1]) == ["pg_isready", "-U", "${POSTGRES_USER}", "-d", "${POSTGRES_DB}"]
    assert {"POSTGRES_USER", "POSTGRES_DB"} <= set(service_env(services["postgres"]))
    installed = {line.split()[-1] for line in dockerfile_instructions("COPY")}
    parser = _load_script("healthcheck.py").build_parser()
    for name in ("ray-head", "ray-worker"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD" and test[1] == "octsearch-healthcheck"
        assert f"/usr/local/bin/{test[1]}" in installed
        args = parser.parse_args(test[2:])
        assert args.head == (name == "ray-head")
        head = parse_ray_start(service_command(services["ray-head"])[2:])
        assert args.dashboard_port == (head["dashboard_port"] or 8265)


def test_compose_volumes(compose: dict[str, Any], df: Any) -> None:
    services = compose["services"]
    declared = set(compose["volumes"])
    mounts: dict[str, dict[str, str]] = {}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            assert source in declared, f"{name} mounts undeclared volume {source}"
            mounts.setdefault(name, {})[source] = target
    assert mounts["postgres"] == {"pgdata": "/var/lib/postgresql/data"}
    for name in RAY_SERVICES:
        assert mounts[name] == {"tune": df.envs["XDG_CACHE_HOME"]}, name  # Ray Tune's results, shared
        assert services[name]["shm_size"], name  # Ray's object store lives in /dev/shm


def _compose_cli() -> tuple[list[str], bool] | None:
    """`docker compose` (v2) if its plugin is installed, else `docker-compose` (v1), else None."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"], True
    if shutil.which("docker-compose"):
        return ["docker-compose"], False
    return None


def test_compose_file_passes_the_compose_cli(tmp_path: Path) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    command, v2 = cli
    compose_file = COMPOSE_FILE
    if not v2:  # compose v1 knows the compose spec but not its later top-level `name`
        compose_file = tmp_path / "compose.yaml"
        text = COMPOSE_FILE.read_text(encoding="utf-8")
        compose_file.write_text(re.sub(r"^name: .*\n", "", text, flags=re.M), encoding="utf-8")
    (tmp_path / "token.env").write_text(f"RAY_AUTH_TOKEN={TEST_TOKEN}\n")
    (tmp_path / "empty.env").write_text("")
    base = [*command, "-f", str(compose_file), "--project-directory", str(DOCKER)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "POSTGRES_", "OCTSEARCH_"))}
    run = subprocess.run([*base, "--env-file", str(tmp_path / "token.env"), "--profile", "search", "config"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    resolved = yaml.safe_load(run.stdout)["services"]
    assert set(resolved) == {"postgres", "ray-head", "ray-worker", "search"}
    assert Path(resolved["ray-head"]["build"]["context"]).resolve() == REPO
    assert resolved["ray-worker"]["environment"]["RAY_AUTH_TOKEN"] == TEST_TOKEN
    missing = subprocess.run([*base, "--env-file", str(tmp_path / "empty.env"), "config"], capture_output=True,
                             text=True, timeout=120, env=env)
    assert missing.returncode != 0 and "set RAY_AUTH_TOKEN in docker/.env" in missing.stderr


def test_compose_search_command_is_a_real_launch(compose: dict[str, Any]) -> None:
    command = service_command(compose["services"]["search"])
    assert command[:2] == ["octsearch", "launch"]  # the entrypoint joins Ray for exactly this
    args = parse_octsearch(command[1:])
    assert find_space(args.space).is_file()
    assert args.name and args.db is None  # the store comes from OCTSEARCH_DB


# -- Dockerfile, .dockerignore, scripts --------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    run = subprocess.run([_bin("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_dockerfile_instructions(df: Any) -> None:
    for image in df.parent_images:
        repo, _, tag = image.partition(":")
        assert tag and tag != "latest" and "$" not in image, image
    assert re.match(r"3\.11-", df.baseimage.partition(":")[2]), "Ray needs one Python minor everywhere"
    assert not dockerfile_instructions("ADD")  # no remote or archive magic
    users = dockerfile_instructions("USER")
    uid = re.search(r"useradd .*--uid (\d+)", " ".join(dockerfile_instructions("RUN"))).group(1)
    assert users[-1].split(":")[0] == uid != "0"
    home = re.search(r"useradd .*--home-dir (\S+)", " ".join(dockerfile_instructions("RUN"))).group(1)
    assert df.envs["HOME"] == home  # the cluster launcher maps ~ with the image's HOME
    entrypoint = json.loads(dockerfile_instructions("ENTRYPOINT")[-1])
    assert entrypoint[:3] == ["/usr/bin/tini", "-g", "--"]
    installed = {line.split()[-1]: line.split()[-2] for line in dockerfile_instructions("COPY")}
    assert installed[entrypoint[3]] == "docker/entrypoint.sh"
    assert installed[df.envs["OCTSEARCH_SPACES_DIR"]] == "search_spaces"
    user = re.search(r"useradd [^&]* (\S+)\s*(?:&&|$)", " ".join(dockerfile_instructions("RUN"))).group(1)
    owned = re.search(r"install -d -o (\S+) -g (\S+) (.*)", " ".join(dockerfile_instructions("RUN")))
    assert owned.group(1) == owned.group(2) == user  # so that a new named volume there is writable
    assert df.envs["XDG_CACHE_HOME"] in owned.group(3).split()
    apt = " ".join(r for r in dockerfile_instructions("RUN") if "apt-get install" in r)
    for package in ("tini", "rsync"):  # PID 1; the cluster launcher copies files with rsync
        assert package in apt.split()


def test_dockerfile_cmd_is_a_real_octsearch_command() -> None:
    cmd = json.loads(dockerfile_instructions("CMD")[-1])
    assert cmd[:2] == ["octsearch", "--help"]
    run = subprocess.run([sys.executable, "-m", "octsearch.cli.main", *cmd[1:]], capture_output=True, text=True)
    assert run.returncode == 0 and "launch" in run.stdout


def test_dockerfile_versions_agree_with_the_project(kuberay: dict[str, Any]) -> None:
    import ray

    args = dockerfile_args()
    constraints = (REPO / "constraints.txt").read_text(encoding="utf-8")
    assert f"torch=={args['TORCH_VERSION']}" in constraints.split()
    assert args["RAY_VERSION"] == ray.__version__ == kuberay["spec"]["rayVersion"]
    assert args["TORCH_INDEX"] == "https://download.pytorch.org/whl/cpu"  # CPU by default


def test_dockerfile_copies_exist_and_are_not_dockerignored() -> None:
    for line in dockerfile_instructions("COPY"):
        words = [w for w in line.split() if not w.startswith("--")]
        if any(w.startswith("--from") for w in line.split()):
            continue
        for source in words[:-1]:
            assert list(REPO.glob(source)), f"COPY {source}: no such file in the repository"
            assert not dockerignored(source), f"COPY {source} is excluded by .dockerignore"
    for path in (".venv/lib/x.py", ".git/HEAD", "results.db", "octsearch/__pycache__/a.pyc",
                 "docker/.env", "tests/test_x.py", ".pytest_cache/v"):
        assert dockerignored(path), path
    for path in ("pyproject.toml", "constraints.txt", "README.md", "octsearch/store/migrations/env.py",
                 "search_spaces/default.yaml", "docker/healthcheck.py"):
        assert not dockerignored(path), path


def test_entrypoint_passes_shellcheck() -> None:
    run = subprocess.run([_bin("shellcheck"), str(DOCKER / "entrypoint.sh")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _entrypoint(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("OCTSEARCH_JOIN")}
    return subprocess.run(["bash", str(DOCKER / "entrypoint.sh"), *args], capture_output=True, text=True,
                          env={**base, "PATH": path, **env}, timeout=60)


def test_entrypoint_runs_commands_as_they_are() -> None:
    assert _entrypoint(["echo", "a b"]).stdout == "a b\n"
    # OCTSEARCH_JOIN_RAY only affects `octsearch launch`: other commands never join Ray
    run = _entrypoint(["octsearch", "--version"], OCTSEARCH_JOIN_RAY=f"127.0.0.1:{_closed_port()}")
    assert run.returncode == 0 and run.stdout.strip() == f"octsearch {octsearch.__version__}"
    assert _entrypoint(["bash", "-c", "exit 7"]).returncode == 7


def test_entrypoint_fails_fast_without_a_ray_head() -> None:
    address = f"127.0.0.1:{_closed_port()}"
    run = _entrypoint(["octsearch", "launch", "default", "--name", "x"],
                      OCTSEARCH_JOIN_RAY=address, OCTSEARCH_JOIN_TIMEOUT="2")
    assert run.returncode == 1
    assert f"no Ray head at {address} after 2 s" in run.stderr
    run = _entrypoint(["octsearch", "launch", "default", "--name", "x"], OCTSEARCH_JOIN_RAY="ray-head")
    assert run.returncode == 2 and "is not HOST:PORT" in run.stderr


def test_healthcheck_reports_an_absent_ray_node() -> None:
    port = _closed_port()
    run = subprocess.run([sys.executable, str(DOCKER / "healthcheck.py"), "--agent-port", str(port),
                          "--timeout", "1"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert run.stderr.strip() == f"unhealthy: http://127.0.0.1:{port}/api/local_raylet_healthz"


# -- KubeRay RayCluster --------------------------------------------------------------------------


def _kuberay_groups(kuberay: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = kuberay["spec"]
    return [("head", spec["headGroupSpec"])] + [(g["groupName"], g) for g in spec["workerGroupSpecs"]]


def _kuberay_args(params: dict[str, str]) -> list[str]:
    """rayStartParams -> `ray start` arguments the way KubeRay builds them."""
    flags = ray_start_flags()
    args = []
    for key, value in params.items():
        assert key in flags, f"rayStartParams {key!r} is not a `ray start` option"
        if flags[key]:
            assert value == "true", f"rayStartParams {key!r} is a flag: only \"true\" passes it"
            args.append(f"--{key}")
        else:
            args.append(f"--{key}={value}")
    return args


def test_kuberay_manifest(kuberay: dict[str, Any], df: Any) -> None:
    assert kuberay["apiVersion"] == "ray.io/v1" and kuberay["kind"] == "RayCluster"
    uid = int(re.search(r"--uid (\d+)", " ".join(dockerfile_instructions("RUN"))).group(1))
    secrets: set[tuple[str, str]] = set()
    for name, group in _kuberay_groups(kuberay):
        # KubeRay adds --head / --address and --block itself
        extra = ["--head", "--block"] if name == "head" else ["--address=octsearch-head-svc:6379", "--block"]
        parse_ray_start(_kuberay_args(group["rayStartParams"]) + extra)
        pod = group["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == uid
        (container,) = pod["containers"]
        assert container["image"] == IMAGE, name
        env = {e["name"]: e for e in container["env"]}
        assert env["RAY_AUTH_MODE"]["value"] == "token"
        ref = env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]
        secrets.add((ref["name"], ref["key"]))
        assert ("OCTSEARCH_DB" in env) == (name == "head")  # only the driver (on the head) writes
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert set(mounts.values()) <= set(volumes)
        assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
        assert df.envs["XDG_CACHE_HOME"] in mounts
        limits, requests = container["resources"]["limits"], container["resources"]["requests"]
        assert limits["cpu"] == requests["cpu"] and limits["memory"] == requests["memory"]
        if name != "head":
            assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    assert len(secrets) == 1  # one token for every pod
    head = kuberay["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    db_ref = {e["name"]: e for e in head["env"]}["OCTSEARCH_DB"]["valueFrom"]["secretKeyRef"]
    assert db_ref["name"] == next(iter(secrets))[0]
    assert {p["name"]: p["containerPort"] for p in head["ports"]}["gcs-server"] == 6379


def test_kuberay_docs_create_the_secret_the_manifest_reads(kuberay: dict[str, Any], docs: list[list[str]]) -> None:
    head = kuberay["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    refs = {e["valueFrom"]["secretKeyRef"]["key"]: e["valueFrom"]["secretKeyRef"]["name"]
            for e in head["env"] if "valueFrom" in e}
    created = [c for c in docs if c[:4] == ["kubectl", "create", "secret", "generic"]]
    assert len(created) == 1
    literals = dict(a.split("=", 1)[1].split("=", 1) for a in created[0] if a.startswith("--from-literal="))
    assert set(refs.values()) == {created[0][4]}
    assert set(refs) == set(literals)
    resolve_url(literals["db-url"])  # a store URL octsearch accepts
    execs = [c for c in docs if c[:2] == ["kubectl", "exec"]]
    assert execs and all(c[c.index("-c") + 1] == head["name"] for c in execs)
    label = next(c for c in docs if "pods" in c and "-l" in c)
    assert f"ray.io/cluster={kuberay['metadata']['name']}" in label[label.index("-l") + 1]


def test_kuberay_pod_templates_pass_kubernetes_schemas(kuberay: dict[str, Any]) -> None:
    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    for name, group in _kuberay_groups(kuberay):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"octsearch-{name}"},
               "spec": group["template"]["spec"]}
        kubernetes_validate.validate(pod, version, strict=True)  # unknown fields fail too
    broken = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
              "spec": {"containers": [{"name": "c", "image": IMAGE, "volumeMount": []}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


def test_kuberay_documented_secret_with_kubectl(kuberay: dict[str, Any], docs: list[list[str]]) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    (create,) = [c for c in docs if c[:4] == ["kubectl", "create", "secret", "generic"]]
    run = subprocess.run([kubectl, *create[1:], "--dry-run=client", "-o", "json"], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    secret = json.loads(run.stdout)
    refs = {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for _, g in _kuberay_groups(kuberay) for e in g["template"]["spec"]["containers"][0]["env"]
            if "valueFrom" in e}
    assert refs == {(secret["metadata"]["name"], key) for key in secret["data"]}


# -- Ray cluster launcher ------------------------------------------------------------------------


def test_launcher_config_passes_rays_validation(launcher: dict[str, Any]) -> None:
    import jsonschema
    import ray
    from ray.autoscaler._private.util import prepare_config, validate_config

    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    jsonschema.validate(launcher, schema)
    validate_config(prepare_config(launcher))
    broken = {**launcher, "docker": {**launcher["docker"], "imagee": IMAGE}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_launcher_agrees_with_the_image(launcher: dict[str, Any], df: Any) -> None:
    assert launcher["docker"]["image"] == IMAGE
    starts: dict[str, dict[str, Any]] = {}
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        (start,) = [shlex.split(c) for c in launcher[key] if c.startswith("ray start")]
        assert launcher[key][0] == "ray stop"
        starts[key] = parse_ray_start(start[2:])
    head, worker = starts["head_start_ray_commands"], starts["worker_start_ray_commands"]
    assert head["head"] and _host_port(worker["address"]) == ("$RAY_HEAD_IP", head["port"])
    # the token file lands in the container user's home (the image sets HOME for the launcher)
    assert launcher["file_mounts"] == {"~/.ray/auth_token": "~/.ray/auth_token"}
    assert df.envs["HOME"].startswith("/home/") and df.envs["RAY_AUTH_MODE"] == "token"


# -- docker/README.md --------------------------------------------------------------------------


def test_docs_octsearch_commands_parse(docs: list[list[str]]) -> None:
    calls = [args for command in docs for args in program_calls(command, ("octsearch",))]
    assert len(calls) == 7  # every octsearch call of the docs is found (none slips past the parser)
    for args in calls:
        parsed = parse_octsearch(args)
        if getattr(parsed, "space", None):
            find_space(parsed.space)
        if getattr(parsed, "db", None):
            resolve_url(parsed.db)
        if parsed.command == "launch":
            assert parsed.address, f"octsearch {shlex.join(args)}: a cluster launch needs --address"


def test_docs_ray_commands_parse(docs: list[list[str]]) -> None:
    from ray.scripts.scripts import cli

    calls = [c for c in docs if c[:1] == ["ray"]]
    assert {c[1] for c in calls} == {"get-auth-token", "start", "up", "exec", "down"}
    for command in calls:
        cli.commands[command[1]].make_context(f"ray {command[1]}", command[2:])  # raises on a bad option
        for args in program_calls(command, ("octsearch",)):
            parse_octsearch(args)
    starts = [args for command in docs for args in program_calls(command, ("ray", "start"))]
    assert len(starts) == 2
    for args in starts:
        parse_ray_start(args)
    for command in calls:
        if command[1] in ("up", "exec", "down"):
            assert (REPO / command[2]).resolve() == LAUNCHER_FILE


def test_docs_compose_commands_name_real_services(docs: list[list[str]], compose: dict[str, Any]) -> None:
    commands = [c for c in docs if c[:2] == ["docker", "compose"]]
    assert len(commands) >= 4
    for command in commands:
        assert command[2] == "-f" and (REPO / command[3]).resolve() == COMPOSE_FILE
        rest = command[4:]
        for i, arg in enumerate(rest[:-1]):
            if arg == "--scale":
                assert rest[i + 1].split("=")[0] in compose["services"]
        if rest[0] == "run":
            service = next(a for a in rest[1:] if not a.startswith("-"))
            assert service in compose["services"]
    token_file = next(c for c in docs if c[:1] == ["printf"])
    assert token_file[-2:] == [">", "docker/.env"] and token_file[1] == "RAY_AUTH_TOKEN=%s\\n"


def test_docs_settings_table_lists_every_compose_variable() -> None:
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8")))
    container_side = {"POSTGRES_USER", "POSTGRES_DB"}  # also read by pg_isready inside the container
    table = re.findall(r"^\| (`[A-Z_`, ]+`) \|", DOCS_FILE.read_text(encoding="utf-8"), re.M)
    documented = {name for cell in table for name in re.findall(r"`([A-Z_][A-Z0-9_]*)`", cell)}
    assert used == documented, (used ^ documented)
    assert container_side <= documented
