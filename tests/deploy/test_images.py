"""deploy/Dockerfile.*, their .dockerignore files, the service entrypoint and the health check.

No Docker engine runs here, so the images are not built: the Dockerfiles are parsed and what they
copy is checked against the repository and the ignore files, and the two scripts the images run
(deploy/service-entrypoint.sh, deploy/healthcheck.py) are run for real on this machine; the RPC
health check against the local RabbitMQ and a throwaway nameko service.
"""
from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest
from deploy_support import (
    DEPLOY,
    REPO,
    all_deployables,
    dockerfile_instructions,
    dockerignore_excludes,
    dockerignore_rules,
    nameko_services,
    service_class,
)

DOCKERFILES = {"service": DEPLOY / "Dockerfile.service", "gateway": DEPLOY / "Dockerfile.gateway"}
ENTRYPOINT = DEPLOY / "service-entrypoint.sh"
HEALTHCHECK = DEPLOY / "healthcheck.py"
NON_ROOT_UID = "10001"


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def arg_default(instructions: list[tuple[str, str]], name: str) -> str | None:
    for keyword, args in instructions:
        if keyword == "ARG" and args.split("=")[0] == name:
            return args.partition("=")[2] or None
    return None


def copy_sources(instructions: list[tuple[str, str]], service: str) -> list[str]:
    """Build-context paths the Dockerfile COPYs (not --from=stage), with ${SERVICE} filled in."""
    sources = []
    for keyword, args in instructions:
        if keyword != "COPY" or "--from=" in args:
            continue
        words = [w for w in args.split() if not w.startswith("--")]
        for source in words[:-1]:
            sources.append(source.replace("${SERVICE}", service).rstrip("/"))
    return sources


# ---------------------------------------------------------------- Dockerfiles
@pytest.mark.parametrize("kind", DOCKERFILES)
def test_dockerfile_base_image_and_user(kind):
    instructions = dockerfile_instructions(DOCKERFILES[kind])
    assert arg_default(instructions, "PYTHON_IMAGE") == "python:3.11-slim"
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    assert all(s.split()[0] == "${PYTHON_IMAGE}" for s in stages), stages
    final = final_stage(instructions)
    users = [args for keyword, args in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] == NON_ROOT_UID, f"{kind}: the image must run as uid {NON_ROOT_UID}"
    # Numeric, so Kubernetes' runAsNonRoot can verify it; the user must exist in the image.
    assert any(keyword == "RUN" and f"--uid {NON_ROOT_UID}" in args for keyword, args in final)
    assert any(keyword == "HEALTHCHECK" for keyword, _ in final)


@pytest.mark.parametrize("kind", DOCKERFILES)
def test_dockerfile_installs_with_constraints_and_old_setuptools(kind):
    runs = [args for keyword, args in dockerfile_instructions(DOCKERFILES[kind]) if keyword == "RUN"]
    pip_runs = [r for r in runs if r.startswith("pip install")]
    # setuptools<81 first: nameko 2.14.1 needs pkg_resources.
    assert pip_runs[0] == 'pip install -c constraints.txt "setuptools<81"'
    assert all(" -c constraints.txt " in r for r in pip_runs), "every pip install is constrained"
    packages = pip_runs[-1]
    assert "./shared" in packages
    if kind == "service":
        assert '"./services/${SERVICE}"' in packages
    else:
        assert packages == "pip install -c constraints.txt ./shared ./services/gateway"


def test_the_gateway_image_holds_nothing_of_any_service():
    """The gateway speaks to the services through shared.contracts only: no service package is
    copied into its build or sent in its build context."""
    instructions = dockerfile_instructions(DOCKERFILES["gateway"])
    copied = copy_sources(instructions, "gateway")
    assert {s for s in copied if s.startswith("services")} == {"services/gateway"}, copied
    rules = dockerignore_rules(DEPLOY / "Dockerfile.gateway.dockerignore")
    for service in nameko_services():
        assert dockerignore_excludes(rules, f"services/{service}/pyproject.toml"), service


def test_service_dockerfile_requires_and_records_the_service():
    instructions = dockerfile_instructions(DOCKERFILES["service"])
    assert ("ARG", "SERVICE") in instructions
    final = final_stage(instructions)
    env = " ".join(args for keyword, args in final if keyword == "ENV")
    assert "PORTA_SERVICE=${SERVICE}" in env
    assert ("ENTRYPOINT", '["porta-service"]') in final
    assert ("CMD", '["run"]') in final
    entrypoint = "deploy/service-entrypoint.sh /usr/local/bin/porta-service"
    assert any(k == "COPY" and a.endswith(entrypoint) for k, a in final)


def test_gateway_dockerfile_runs_gunicorn_on_the_gateway_app():
    final = final_stage(dockerfile_instructions(DOCKERFILES["gateway"]))
    assert ("CMD", '["gunicorn", "-c", "services/gateway/gunicorn.conf.py", "gateway.wsgi:app"]') in final
    assert ("WORKDIR", "/app") in final
    assert ("EXPOSE", "8080") in final
    gateway = REPO / "services" / "gateway"
    assert (gateway / "gunicorn.conf.py").is_file(), "the image starts gunicorn with services/gateway/gunicorn.conf.py"
    assert (gateway / "gateway" / "wsgi.py").is_file(), "the image serves gateway.wsgi:app"


def repo_files(path: Path) -> list[str]:
    if path.is_file():
        return [path.relative_to(REPO).as_posix()]
    return [
        p.relative_to(REPO).as_posix()
        for p in path.rglob("*")
        if p.is_file() and not {"__pycache__", ".venv"} & set(p.parts) and ".egg-info" not in p.as_posix()
    ]


@pytest.mark.parametrize("kind", DOCKERFILES)
def test_what_the_dockerfile_copies_exists_and_is_in_the_build_context(kind):
    """Every COPY source exists, and the Dockerfile's own .dockerignore keeps what the build needs."""
    dockerfile = DOCKERFILES[kind]
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    assert ignore.is_file(), f"{ignore.name} keeps .venv and litter out of the build context"
    rules = dockerignore_rules(ignore)
    services = nameko_services() if kind == "service" else ["gateway"]
    for service in services:
        for source in copy_sources(dockerfile_instructions(dockerfile), service):
            sources = sorted(REPO.glob(source)) if "*" in source else [REPO / source]
            assert sources and all(s.exists() for s in sources), f"COPY {source}: not in the repository"
            for path in sources:
                needed = [f for f in repo_files(path) if "/tests/" not in f and not f.endswith((".pyc", ".pyo"))]
                dropped = [f for f in needed if dockerignore_excludes(rules, f)]
                assert not dropped, f"{ignore.name} leaves out files the image needs: {dropped[:5]}"


@pytest.mark.parametrize("kind", DOCKERFILES)
def test_dockerignore_keeps_local_litter_out(kind):
    dockerfile = DOCKERFILES[kind]
    rules = dockerignore_rules(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    for litter in (".venv/bin/python", ".git/HEAD", "var/x", "shared/shared/__pycache__/config.cpython-311.pyc",
                   "services/crm/porta_crm.egg-info/PKG-INFO", "services/crm/tests/conftest.py", "bench/x.py"):
        assert dockerignore_excludes(rules, litter), f"{litter} would be sent to the builder"
    service_file = "services/crm/alembic.ini" if kind == "service" else "services/gateway/gunicorn.conf.py"
    for needed in ("constraints.txt", "shared/pyproject.toml", service_file, "deploy/healthcheck.py"):
        assert not dockerignore_excludes(rules, needed), needed


def test_service_images_carry_what_the_entrypoint_reads():
    for service in nameko_services():
        folder = REPO / "services" / service
        for needed in ("pyproject.toml", "config.yaml", "alembic.ini", "migrations/env.py", f"{service}/service.py"):
            assert (folder / needed).is_file(), f"services/{service}/{needed} is missing"
        assert re.search(rf"^class {service_class(service)}\b", (folder / service / "service.py").read_text(), re.M), (
            f"the image starts {service}.service:{service_class(service)}"
        )


def test_every_deployable_has_a_package():
    for name in all_deployables():
        assert (REPO / "services" / name / "pyproject.toml").is_file(), name


# ---------------------------------------------------------------- the entrypoint script
def test_entrypoint_is_valid_posix_sh():
    result = subprocess.run(["sh", "-n", str(ENTRYPOINT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert os.access(ENTRYPOINT, os.X_OK) and os.access(HEALTHCHECK, os.X_OK)


@pytest.fixture
def fake_tools(tmp_path):
    """`nameko` and `python` stand-ins that print their arguments and working directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("nameko", "python"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $* @ $(pwd)"\n')
        script.chmod(0o755)
    return bin_dir


def run_entrypoint(fake_tools: Path, service: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{fake_tools}:/usr/bin:/bin", "PORTA_SERVICE": service, "PORTA_APP_DIR": str(REPO)}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize("service", nameko_services())
def test_entrypoint_commands(fake_tools, service):
    folder = REPO / "services" / service
    run = run_entrypoint(fake_tools, service)
    assert run.returncode == 0, run.stderr
    target = f"{service}.service:{service_class(service)}"
    assert run.stdout.strip() == f"nameko run --config config.yaml {target} @ {folder}"
    migrate = run_entrypoint(fake_tools, service, "migrate")
    assert migrate.stdout.strip().startswith(f"python -m shared.migrations {folder} @ ")
    health = run_entrypoint(fake_tools, service, "health", "--timeout", "3")
    assert health.stdout.strip().startswith(f"python {REPO}/deploy/healthcheck.py rpc {service} --timeout 3 @ ")


def test_entrypoint_needs_the_service_name(fake_tools):
    result = subprocess.run(["sh", str(ENTRYPOINT)], env={"PATH": f"{fake_tools}:/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0 and "PORTA_SERVICE" in result.stderr


# ---------------------------------------------------------------- the health check
def run_healthcheck(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HEALTHCHECK), *args], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def http_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response({"/ok": 200, "/down": 503}.get(self.path, 404))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_health_check(http_server):
    assert run_healthcheck("http", f"{http_server}/ok").returncode == 0
    down = run_healthcheck("http", f"{http_server}/down")
    assert down.returncode == 1 and "HTTP 503" in down.stderr
    assert run_healthcheck("http", "http://127.0.0.1:1/healthz", "--timeout", "2").returncode == 1
    assert run_healthcheck("http", "file:///etc/passwd").returncode == 1


def test_rpc_health_check_fails_fast_without_a_broker():
    started = time.monotonic()
    result = run_healthcheck("rpc", "crm", "--timeout", "2", env={"PORTA_AMQP_URI": "pyamqp://guest:guest@127.0.0.1:1/"})
    assert result.returncode == 1 and "unhealthy" in result.stderr
    assert time.monotonic() - started < 15


PROBE_SERVICE = textwrap.dedent(
    """
    from nameko.rpc import rpc


    class Probe:
        name = "{name}"

        @rpc
        def health(self):
            return {{"service": self.name, "status": "{status}"}}
    """
)


@pytest.fixture
def probe_service(tmp_path):
    """Start a throwaway nameko service with a health() RPC on the local RabbitMQ (as `make test` has it)."""
    processes = []

    def start(status: str) -> str:
        name = f"porta_deploy_probe_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(PROBE_SERVICE.format(name=name, status=status))
        amqp = os.environ.get("PORTA_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")
        # Exclusive-ish: auto-delete queues would be nicer, but nameko declares its RPC queue durable.
        (tmp_path / f"{name}.yaml").write_text(f"AMQP_URI: {amqp}\n")
        nameko = Path(sys.executable).with_name("nameko")
        process = subprocess.Popen([str(nameko), "run", "--config", f"{name}.yaml", f"{name}:Probe"], cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        processes.append((process, name))
        return name

    yield start
    for process, name in processes:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        _delete_queue(f"rpc-{name}")


def _delete_queue(queue: str) -> None:
    from kombu import Connection

    with Connection(os.environ.get("PORTA_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")) as connection:
        connection.default_channel.queue_delete(queue)


def wait_for(args: tuple[str, ...], done, deadline: float = 30) -> subprocess.CompletedProcess:
    """Run the health check until `done(result)` (the probe service takes a moment to start)."""
    end = time.monotonic() + deadline
    while True:
        result = run_healthcheck(*args)
        if done(result) or time.monotonic() > end:
            return result
        time.sleep(0.5)


def test_rpc_health_check_against_a_running_service(probe_service):
    healthy = probe_service("ok")
    result = wait_for(("rpc", healthy, "--timeout", "3"), lambda r: r.returncode == 0)
    assert result.returncode == 0, result.stderr
    assert f"healthy: {healthy}" in result.stdout


def test_rpc_health_check_rejects_a_bad_status(probe_service):
    degraded = probe_service("degraded")
    # Until the service is up the answer is "unknown service"; then it answers "degraded".
    result = wait_for(("rpc", degraded, "--timeout", "3"), lambda r: "degraded" in r.stderr)
    assert result.returncode == 1 and "'status': 'degraded'" in result.stderr, result.stderr
