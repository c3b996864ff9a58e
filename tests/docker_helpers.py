"""Read the files of ``docker/`` the way their tools do, for tests/docker/.

Compose interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``), the command
lines of services and of the docs, and parsers that reject what the real ``ray start`` (its
click command) and ``octsearch`` (its argparse parser) reject.
"""

from __future__ import annotations

import argparse
import re
import shlex
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
