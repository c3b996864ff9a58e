"""Read the files of ``docker/`` the way their tools do, and run them, for tests/docker/.

Compose interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``), the command
lines of services and of the docs, and parsers that reject what the real ``ray start`` (its
click command) and ``octsearch`` (its argparse parser) reject. Then, for the tests that need a
Docker daemon: building the image (docker/build-local.sh or the official bases) and a compose
project of its own that is removed whole afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
KUBERAY_FILE = DOCKER / "kuberay-raycluster.yaml"
LAUNCHER_FILE = DOCKER / "ray-cluster-launcher.yaml"
DOCS_FILE = DOCKER / "README.md"

TEST_TOKEN = "0123456789abcdef" * 4
BASE_ENV: dict[str, str] = {"RAY_AUTH_TOKEN": TEST_TOKEN}  # what docker/.env holds at least


class ComposeVariableError(Exception):
    """A ``${VAR:?message}`` whose variable is unset: compose refuses to start."""


_REF = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>.*))?", re.S)


def interpolate_text(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of one string (the subset compose.yaml may use)."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("named"):
            return env.get(match.group("named"), "")
        expr = match.group("braced")
        parts = _BRACED.fullmatch(expr)
        if parts is None:
            raise ValueError(f"interpolation ${{{expr}}} is not supported by these tests")
        name, op, arg = parts.group("name"), parts.group("op"), parts.group("arg")
        value = env.get(name)
        if op is None:
            return value or ""
        if op == ":-":
            return value if value else interpolate_text(arg, env)
        if op == "-":
            return value if value is not None else interpolate_text(arg, env)
        if (op == ":?" and not value) or (op == "?" and value is None):
            raise ComposeVariableError(f"{name}: {arg}")
        return value or ""

    return _REF.sub(replace, text)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Interpolate every string of a parsed YAML document (keys stay as written)."""
    if isinstance(value, str):
        return interpolate_text(value, env)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """compose.yaml as compose sees it with ``env`` as the environment plus docker/.env."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))  # safe_load applies `<<` merges
    return interpolate(raw, BASE_ENV if env is None else env)


def service_env(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's ``environment`` as a mapping (compose accepts a mapping or KEY=VALUE items)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def service_command(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def parse_ray_start(args: list[str]) -> dict[str, Any]:
    """Parse ``ray start`` arguments with Ray's own click command; raises on an unknown flag."""
    from ray.scripts.scripts import start

    ctx = start.make_context("ray start", list(args))
    return dict(ctx.params)


def ray_start_flags() -> dict[str, bool]:
    """Long option name (without ``--``) -> is it a flag without a value, for ``ray start``."""
    from ray.scripts.scripts import start

    out: dict[str, bool] = {}
    for param in start.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                out[opt[2:]] = bool(getattr(param, "is_flag", False))
    return out


class OctsearchUsageError(Exception):
    """The real ``octsearch`` parser rejected a command line."""


def parse_octsearch(args: list[str]) -> argparse.Namespace:
    """Parse an ``octsearch`` command line (without the program name) with the real parser."""
    from octsearch.cli.main import build_parser

    try:
        return build_parser().parse_args(args)
    except SystemExit as e:
        raise OctsearchUsageError(f"octsearch {shlex.join(args)}: rejected (exit {e.code})") from None


def doc_commands(text: str) -> Iterator[list[str]]:
    """The simple commands of the ```bash blocks of a markdown text, as argument lists.

    Continuation lines are joined, comments dropped, and `&&`, `;` and `|` split commands.
    """
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            command: list[str] = []
            for token in lexer:
                if token and set(token) <= set(";&|"):
                    if command:
                        yield command
                    command = []
                else:
                    command.append(token)
            if command:
                yield command


_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _runs_program_at(command: list[str], i: int) -> bool:
    """Is ``command[i]`` in command position: first after VAR=value assignments, after ``--``
    (``kubectl exec POD -- ...``) or after the service of ``docker compose ... run``?"""
    if all(_ASSIGNMENT.match(token) for token in command[:i]):
        return True
    if command[i - 1] == "--":
        return True
    if command[:2] == ["docker", "compose"] and "run" in command[:i]:
        after_run = command[command.index("run") + 1:i]
        return [t for t in after_run if not t.startswith("-")] == [command[i - 1]]
    return False


def program_calls(command: list[str], program: tuple[str, ...]) -> Iterator[list[str]]:
    """The arguments after each call of ``program`` (e.g. ("octsearch",) or ("ray", "start"))
    inside a command line, including calls quoted as one argument (``ray exec FILE '...'``)."""
    n = len(program)
    for i in range(len(command)):
        if tuple(command[i:i + n]) == program and _runs_program_at(command, i):
            yield command[i + n:]
            return
    for token in command:
        if " " in token:
            yield from program_calls(shlex.split(token), program)


def dockerfile() -> Any:
    from dockerfile_parse import DockerfileParser

    return DockerfileParser(path=str(DOCKERFILE))


def dockerfile_instructions(name: str) -> list[str]:
    """The values of every instruction ``name`` (e.g. "COPY") of the Dockerfile, in order."""
    return [i["value"] for i in dockerfile().structure if i["instruction"] == name.upper()]


def dockerfile_args() -> dict[str, str]:
    """Every build argument of the Dockerfile with its default, over all stages (dockerfile-parse's
    ``args`` knows only the last stage's); an argument without a default maps to ""."""
    out: dict[str, str] = {}
    for value in dockerfile_instructions("ARG"):
        name, _, default = value.strip().partition("=")
        if default or name not in out:
            out[name] = default.strip('"')
    return out


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    pattern = pattern.strip("/")
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def dockerignored(path: str) -> bool:
    """Does .dockerignore exclude ``path`` (relative to the build context) or a parent of it?

    Docker's rules: a pattern matches the path or any of its parent directories; a later
    ``!pattern`` re-includes.
    """
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[:k]) for k in range(1, len(parts) + 1)]
    excluded = False
    for pattern in dockerignore_patterns():
        negate = pattern.startswith("!")
        regex = _dockerignore_regex(pattern[1:] if negate else pattern)
        if any(regex.fullmatch(c) for c in candidates):
            excluded = not negate
    return excluded


# -- running Docker for real (tests/docker/test_compose_cluster.py) ----------------------------

OFFICIAL_BASE = "python:3.11-slim-bookworm"
LOCAL_POSTGRES_IMAGE = "octsearch-local/postgres:15-bookworm"  # docker/build-local.sh makes it
_HOST_ENV_PREFIXES = ("RAY_", "POSTGRES_", "OCTSEARCH_", "COMPOSE_")


def docker_problem() -> str | None:
    """Why the Docker tests cannot run here (no client, no daemon, no Compose v2), else None."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                          timeout=60)
    if info.returncode != 0:
        return f"no Docker daemon answers: {(info.stderr.strip().splitlines() or ['docker info failed'])[-1]}"
    compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
    if compose.returncode != 0:
        return "the docker CLI has no Compose v2 plugin (`docker compose version` failed)"
    return None


def clean_host_env() -> dict[str, str]:
    """This process's environment without the variables compose would read instead of its env file."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_HOST_ENV_PREFIXES)}


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one ``docker`` command; with ``check`` a failure raises with its output."""

    run = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and run.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return run


def image_build_mode() -> str:
    """``local`` (docker/build-local.sh: no registry needed) or ``registry`` (the official bases):
    $OCTSEARCH_TEST_DOCKER_BUILD if set, else ``registry`` where the official base image is here
    or can be pulled, ``local`` otherwise."""
    mode = os.environ.get("OCTSEARCH_TEST_DOCKER_BUILD", "auto")
    if mode in ("local", "registry"):
        return mode
    if docker("image", "inspect", OFFICIAL_BASE, check=False).returncode == 0:
        return "registry"
    return "registry" if docker("pull", OFFICIAL_BASE, check=False, timeout=300).returncode == 0 else "local"


def build_images(image: str, log: Path) -> tuple[str, str]:
    """Build the octsearch image ``image`` the way :func:`image_build_mode` says (output to
    ``log``); return (``local`` | ``registry``, the PostgreSQL image compose should run)."""
    mode = image_build_mode()
    if mode == "local":
        command = ["bash", str(DOCKER / "build-local.sh"), "--tag", image]
        postgres = LOCAL_POSTGRES_IMAGE
    else:
        command = ["docker", "build", "--network", "host", "-f", str(DOCKERFILE), "-t", image, str(REPO)]
        postgres = "postgres:16-bookworm"
    with log.open("w") as out:
        run = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=3600, env=clean_host_env())
    if run.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise AssertionError(f"building {image} ({mode}) failed:\n{tail}")
    return mode, postgres


class ComposeProject:
    """``docker compose`` on docker/compose.yaml as one project of its own: its name, and an env
    file in place of docker/.env (variables of this process that compose would prefer are
    dropped)."""
    def __init__(self, name: str, env_file: Path) -> None:
        self.name, self.env_file = name, env_file

    def base(self) -> list[str]:
        return ["docker", "compose", "-p", self.name, "-f", str(COMPOSE_FILE), "--project-directory", str(DOCKER),
                "--env-file", str(self.env_file)]

    def __call__(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:

        run = subprocess.run([*self.base(), *args], capture_output=True, text=True, timeout=timeout,
                             env=clean_host_env())
        if check and run.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)} failed ({run.returncode}):\n"
                                 f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
        return run

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """Start ``docker compose ARGS`` in the background, output to ``log``."""
        return subprocess.Popen([*self.base(), *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                                env=clean_host_env(), start_new_session=True)

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes of this project that still exist."""
        label = f"label=com.docker.compose.project={self.name}"
        found = {
            "containers": docker("ps", "-aq", "--filter", label).stdout.split(),
            "networks": docker("network", "ls", "-q", "--filter", label).stdout.split(),
            "volumes": docker("volume", "ls", "-q", "--filter", label).stdout.split(),
        }
        return {kind: ids for kind, ids in found.items() if ids}

    def down(self) -> None:
        """Remove everything of the project: containers (those of `run` too), networks, volumes."""
        self("down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=300, check=False)
        label = f"label=com.docker.compose.project={self.name}"
        for container in docker("ps", "-aq", "--filter", label, check=False).stdout.split():
            docker("rm", "-f", "-v", container, check=False)
        for volume in docker("volume", "ls", "-q", "--filter", label, check=False).stdout.split():
            docker("volume", "rm", "-f", volume, check=False)
        for network in docker("network", "ls", "-q", "--filter", label, check=False).stdout.split():
            docker("network", "rm", network, check=False)
