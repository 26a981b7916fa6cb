"""Helpers for the deployment tests (imported by conftest.py and the test modules).

Kubernetes manifests are rendered with the real Kustomize: `kustomize build` when that binary is
on PATH, else `kubectl kustomize` (kubectl embeds Kustomize; the machine image has it). Neither
being installed is a failure, not a skip: the k8s tests are meaningless without a render.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
KUSTOMIZATIONS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}

# The settings every deployment must provide (shared/shared/config.py and shared/shared/logs.py).
REQUIRED_ENV = {
    "PORTA_AMQP_URI",
    "PORTA_DB_URL_TEMPLATE",
    "PORTA_S3_ENDPOINT",
    "PORTA_S3_ACCESS_KEY",
    "PORTA_S3_SECRET_KEY",
    "PORTA_S3_BUCKET",
    "PORTA_S3_SECURE",
    "PORTA_SMTP_HOST",
    "PORTA_SMTP_PORT",
    "PORTA_MAIL_FROM",
    "PORTA_HTTP_HOST",
    "PORTA_HTTP_PORT",
    "PORTA_PUBLIC_URL",
    "PORTA_RPC_TIMEOUT",
    "PORTA_LOG_LEVEL",
    "PORTA_LINK_SEALING_KEY",  # the links service refuses to start without it
}
# Values that carry credentials: they belong in a Secret, never in a ConfigMap.
SECRET_ENV = {"PORTA_AMQP_URI", "PORTA_DB_URL_TEMPLATE", "PORTA_S3_ACCESS_KEY", "PORTA_S3_SECRET_KEY",
              "PORTA_LINK_SEALING_KEY"}
CREDENTIAL_KEY = re.compile(r"PASSW|SECRET|TOKEN|CREDENTIAL|ACCESS_KEY|PRIVATE|API_KEY|AMQP_URI|DB_URL|SEALING_KEY",
                            re.I)
# scheme://user:password@host
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]+:[^/@\s]+@", re.I)


def nameko_services() -> list[str]:
    """Every nameko service: the folders under services/ that are packages, plus shared.config.SERVICES."""
    from shared.config import SERVICES

    folders = {p.parent.name for p in (REPO / "services").glob("*/pyproject.toml")} - {"gateway"}
    return sorted(folders | set(SERVICES))


# The gateway's stream process (gateway.stream): the gateway's image, a Deployment/container of its own.
GATEWAY_STREAM = "gateway-stream"


def all_deployables() -> list[str]:
    return [*nameko_services(), "gateway"]


def service_class(service: str) -> str:
    return f"{service[:1].upper()}{service[1:]}Service"


def code_env_names() -> set[str]:
    """Every literal PORTA_* name in the code that reads settings (shared/ and services/)."""
    names: set[str] = set()
    for root in (REPO / "shared", REPO / "services"):
        for path in root.rglob("*.py"):
            if "tests" in path.relative_to(REPO).parts:
                continue
            names.update(re.findall(r"PORTA_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8")))
    return names


def env_name_is_read(name: str) -> bool:
    """True when the code reads `name` (PORTA_<SERVICE>_DB_URL is built with an f-string)."""
    per_service_db = {f"PORTA_{s.upper()}_DB_URL" for s in nameko_services()}
    return name in code_env_names() or name in per_service_db



def kustomize_command() -> list[str]:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    pytest.fail(
        "neither `kustomize` nor `kubectl` is on PATH: the Kubernetes manifests cannot be rendered "
        "(install kubectl from Debian's packages or kustomize from a registry)"
    )


def kustomize_build(path: Path) -> list[dict]:
    result = subprocess.run(
        [*kustomize_command(), str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kustomize failed on {path.relative_to(REPO)}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]



def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


# ---------------------------------------------------------------- Compose interpolation
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err}, ${NAME:+alt}, ${NAME+alt}, $NAME;
# $$ is a literal $.
INTERPOLATION = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolation_errors(value: str) -> list[str]:
    """What Compose would reject: a `$` that starts neither `$$` nor a well-formed variable."""
    errors = []
    rest = value.replace("$$", "")
    for match in re.finditer(r"\$", rest):
        if not INTERPOLATION.match(rest, match.start()):
            errors.append(rest[match.start(): match.start() + 30])
    return errors


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's interpolation with an (empty by default) environment: the defaults win."""
    env = env or {}

    def substitute(match: re.Match) -> str:
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        if op in (":-", "-"):
            return current if (current if op == ":-" else current is not None) else arg
        if op in (":?", "?"):
            assert current, f"${{{name}}} is required: {arg}"
            return current
        if op in (":+", "+"):
            return arg if current else ""
        return current or ""

    parts = value.split("$$")
    return "$".join(INTERPOLATION.sub(substitute, part) for part in parts)


def walk_strings(node: object, path: str = ""):
    """(path, string) for every string key and value in a YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}/{key}", str(key)
            yield from walk_strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


# ---------------------------------------------------------------- Dockerfiles
def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, f"{path.name} ends inside a continued line"
    return instructions


def _ignore_regex(pattern: str) -> re.Pattern:
    out = ""
    i = 0
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
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i: end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + "$")


def dockerignore_rules(path: Path) -> list[tuple[bool, re.Pattern]]:
    """(is_exception, regex) per line of a .dockerignore, in order."""
    rules = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.strip("/")
        rules.append((negate, _ignore_regex(pattern)))
    return rules


def dockerignore_excludes(rules: list[tuple[bool, re.Pattern]], relpath: str) -> bool:
    """Whether BuildKit leaves `relpath` out of the context: the last rule matching it or a parent wins."""
    parts = relpath.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negate, regex in rules:
        if any(regex.match(c) for c in candidates):
            excluded = not negate
    return excluded
