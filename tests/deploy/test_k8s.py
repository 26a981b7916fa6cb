"""deploy/k8s: the base and the production overlay, rendered with Kustomize, checked with the
Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields are errors) and against
Porta's rules: every service and the gateway deployed, migrations before the service, probes and
resources on every container, config and credentials kept apart, production autoscaled.
"""
from __future__ import annotations

import copy
import re

import kubernetes_validate
import pytest
import yaml
from deploy_support import (
    CREDENTIAL_KEY,
    GATEWAY_STREAM,
    K8S,
    REQUIRED_ENV,
    SECRET_ENV,
    URL_WITH_PASSWORD,
    all_deployables,
    by_kind,
    env_name_is_read,
    nameko_services,
)

# The oldest Kubernetes the manifests promise to work on, and the newest schema the package ships.
K8S_VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]
RENDERS = ["base", "production"]
NAMESPACED = {"Deployment", "Service", "ConfigMap", "Secret", "ServiceAccount", "HorizontalPodAutoscaler",
              "PodDisruptionBudget"}


def describe(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def validation_errors(docs: list[dict], version: str) -> list[str]:
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{describe(doc)}: {exc.message} at {'/'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{describe(doc)}: no schema for {doc.get('apiVersion')} {doc.get('kind')} in {version}")
    return errors


def pod_spec(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def main_container(deployment: dict) -> dict:
    containers = pod_spec(deployment)["containers"]
    assert len(containers) == 1, f"{describe(deployment)}: expected one container"
    return containers[0]


# ---------------------------------------------------------------- schema validation
@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("render", RENDERS)
def test_rendered_manifests_are_valid_kubernetes(rendered, render, version):
    docs = rendered[render]
    assert docs, f"{render} renders nothing"
    errors = validation_errors(docs, version)
    assert not errors, "\n".join(errors)


def base_resource_files() -> list:
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text(encoding="utf-8"))
    return [K8S / "base" / r for r in kustomization["resources"]]


@pytest.mark.parametrize("path", base_resource_files(), ids=lambda p: p.name)
def test_base_resource_files_are_valid_kubernetes_as_written(path):
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert docs
    errors = validation_errors(docs, K8S_VERSIONS[-1])
    assert not errors, "\n".join(errors)


def test_strict_validation_rejects_unknown_fields(rendered):
    """Proof that the check above would catch a typo."""
    deployment = copy.deepcopy(by_kind(rendered["base"], "Deployment")["gateway"])
    main_container(deployment)["livenesProbe"] = main_container(deployment).pop("livenessProbe")
    assert validation_errors([deployment], K8S_VERSIONS[-1])


def test_every_kustomization_resource_and_patch_exists():
    for directory in (K8S / "base", K8S / "overlays" / "production"):
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
        for resource in kustomization.get("resources", []):
            assert (directory / resource).exists(), f"{directory.name}: {resource} is missing"
        for patch in kustomization.get("patches", []):
            if "path" in patch:
                assert (directory / patch["path"]).is_file(), f"{directory.name}: {patch['path']} is missing"


# ---------------------------------------------------------------- completeness
@pytest.mark.parametrize("render", RENDERS)
def test_every_service_and_the_gateway_has_a_deployment(rendered, render):
    deployments = by_kind(rendered[render], "Deployment")
    missing = [name for name in all_deployables() if name not in deployments]
    assert not missing, f"services/ folders with no Deployment in {render}: {missing}"
    extra = set(deployments) - set(all_deployables()) - {GATEWAY_STREAM}
    assert not extra, f"Deployments for no service: {extra}"
    for name in all_deployables():
        image = main_container(deployments[name])["image"]
        assert re.search(rf"/porta/{name}(:|@|$)", image), f"{name} runs {image}"
    # The gateway's stream process: the gateway's image, its own Deployment (docs/realtime.md).
    assert re.search(r"/porta/gateway(:|@|$)", main_container(deployments[GATEWAY_STREAM])["image"])


@pytest.mark.parametrize("render", RENDERS)
def test_services_run_the_service_image_and_migrate_first(rendered, render):
    deployments = by_kind(rendered[render], "Deployment")
    for name in nameko_services():
        deployment = deployments[name]
        container = main_container(deployment)
        assert container.get("args", ["run"]) == ["run"], name
        init = pod_spec(deployment).get("initContainers", [])
        assert [c["name"] for c in init] == ["migrate"], f"{name}: migrations must run before the service"
        assert init[0]["args"] == ["migrate"]
        assert init[0]["image"] == container["image"], f"{name}: migrate with the image that will run"
        assert init[0]["envFrom"] == container["envFrom"]
    assert not pod_spec(deployments["gateway"]).get("initContainers"), "the gateway owns no database"


@pytest.mark.parametrize("render", RENDERS)
def test_gateway_service_routes_to_the_gateway_pods(rendered, render):
    docs = rendered[render]
    gateway = by_kind(docs, "Deployment")["gateway"]
    service = by_kind(docs, "Service")["gateway"]
    labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    port_names = {p["name"]: p["containerPort"] for p in main_container(gateway)["ports"]}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in port_names or port["targetPort"] in port_names.values()
    assert port_names.get("http") == 8080


@pytest.mark.parametrize("render", RENDERS)
def test_gateway_metrics_are_on_their_own_port_and_never_behind_the_service(rendered, render):
    docs = rendered[render]
    gateway = by_kind(docs, "Deployment")["gateway"]
    container = main_container(gateway)
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {item["name"]: item.get("value") for item in container.get("env", [])}
    assert int(env["PORTA_METRICS_PORT"]) == port_names["metrics"] != port_names["http"]
    annotations = gateway["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == port_names["metrics"]
    targets = {port["targetPort"] for port in by_kind(docs, "Service")["gateway"]["spec"]["ports"]}
    assert targets.isdisjoint({"metrics", port_names["metrics"]})


@pytest.mark.parametrize("render", RENDERS)
def test_deployment_selectors_match_their_pods(rendered, render):
    for deployment in by_kind(rendered[render], "Deployment").values():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), describe(deployment)
        assert selector == {"app.kubernetes.io/name": deployment["metadata"]["name"]}, describe(deployment)


# ---------------------------------------------------------------- probes, resources, security
@pytest.mark.parametrize("render", RENDERS)
def test_every_container_has_requests_and_limits(rendered, render):
    for deployment in by_kind(rendered[render], "Deployment").values():
        spec = pod_spec(deployment)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    where = f"{describe(deployment)}/{container['name']}"
                    assert resource in resources.get(bound, {}), f"{where}: no {bound}.{resource}"


@pytest.mark.parametrize("render", RENDERS)
def test_every_container_has_probes(rendered, render):
    deployments = by_kind(rendered[render], "Deployment")
    for name in nameko_services():
        container = main_container(deployments[name])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["exec"]["command"][:2] == ["porta-service", "health"], f"{name}: {probe}"
            # The probe's own RPC timeout must end before Kubernetes kills the probe.
            command = container[probe]["exec"]["command"]
            rpc_timeout = float(command[command.index("--timeout") + 1])
            assert rpc_timeout + 2 <= container[probe]["timeoutSeconds"], f"{name}: {probe}"
    gateway = main_container(deployments["gateway"])
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # /readyz checks every service: probing it would pull all gateways out when one service is down.
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["startupProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("render", RENDERS)
def test_pods_run_as_non_root_with_a_read_only_root(rendered, render):
    for deployment in by_kind(rendered[render], "Deployment").values():
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True, describe(deployment)
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["automountServiceAccountToken"] is False
        scratch = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, container["name"]
            assert context["readOnlyRootFilesystem"] is True, container["name"]
            assert context["capabilities"]["drop"] == ["ALL"], container["name"]
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in scratch, f"{container['name']}: a read-only root needs /tmp writable"


# ---------------------------------------------------------------- config vs secrets
@pytest.mark.parametrize("render", RENDERS)
def test_config_maps_hold_no_credentials(rendered, render):
    config_maps = by_kind(rendered[render], "ConfigMap")
    assert config_maps, "no ConfigMap"
    for name, config_map in config_maps.items():
        for key, value in config_map.get("data", {}).items():
            assert not CREDENTIAL_KEY.search(key), f"ConfigMap {name}: {key} looks like a credential"
            assert not URL_WITH_PASSWORD.match(str(value)), f"ConfigMap {name}: {key} has a password in a URL"
            assert "CHANGE-ME" not in str(value), f"ConfigMap {name}: {key} is a secret placeholder"


@pytest.mark.parametrize("render", RENDERS)
def test_secrets_hold_only_credentials(rendered, render):
    secrets = by_kind(rendered[render], "Secret")
    assert list(secrets) == ["porta-secrets"]
    data = {**secrets["porta-secrets"].get("stringData", {}), **secrets["porta-secrets"].get("data", {})}
    assert set(data) == SECRET_ENV, f"porta-secrets keys {sorted(data)} != {sorted(SECRET_ENV)}"


def test_base_secret_keeps_placeholders_only(rendered):
    secret = by_kind(rendered["base"], "Secret")["porta-secrets"]
    assert "data" not in secret, "base secrets are written as stringData placeholders"
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, f"porta-secrets/{key} must stay a CHANGE-ME placeholder in git"


@pytest.mark.parametrize("render", RENDERS)
def test_config_and_secret_together_provide_every_setting(rendered, render):
    docs = rendered[render]
    config = next(iter(by_kind(docs, "ConfigMap").values()))["data"]
    secret = by_kind(docs, "Secret")["porta-secrets"]["stringData"]
    assert not set(config) & set(secret), f"set twice: {set(config) & set(secret)}"
    provided = set(config) | set(secret)
    assert REQUIRED_ENV <= provided, f"missing: {sorted(REQUIRED_ENV - provided)}"
    unread = [k for k in provided if not env_name_is_read(k)]
    assert not unread, f"set but read nowhere in shared/ or services/ (typo?): {unread}"
    assert "{service}" in secret["PORTA_DB_URL_TEMPLATE"]


@pytest.mark.parametrize("render", RENDERS)
def test_every_pod_gets_the_config_and_the_secret(rendered, render):
    docs = rendered[render]
    config_maps, secrets = by_kind(docs, "ConfigMap"), by_kind(docs, "Secret")
    for deployment in by_kind(docs, "Deployment").values():
        spec = pod_spec(deployment)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            sources = container["envFrom"]
            config_refs = [s["configMapRef"]["name"] for s in sources if "configMapRef" in s]
            secret_refs = [s["secretRef"]["name"] for s in sources if "secretRef" in s]
            assert config_refs and all(r in config_maps for r in config_refs), f"{describe(deployment)}: {config_refs}"
            assert secret_refs and all(r in secrets for r in secret_refs), f"{describe(deployment)}: {secret_refs}"


# ---------------------------------------------------------------- production overlay
def test_production_is_namespaced(rendered):
    for doc in rendered["production"]:
        if doc["kind"] in NAMESPACED:
            assert doc["metadata"].get("namespace") == "porta", describe(doc)
    assert "porta" in by_kind(rendered["production"], "Namespace")


def test_production_images_are_pinned_release_tags(rendered):
    for deployment in by_kind(rendered["production"], "Deployment").values():
        spec = pod_spec(deployment)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            image = container["image"]
            assert not image.startswith("localhost/"), f"{describe(deployment)} still runs the dev image {image}"
            repository, _, tag = image.rpartition(":")
            assert "@sha256:" in image or (tag and tag not in ("latest", "dev") and "/" not in tag), image


def test_production_autoscales_every_deployment(rendered):
    docs = rendered["production"]
    deployments = by_kind(docs, "Deployment")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind(docs, "HorizontalPodAutoscaler").values()}
    assert set(hpas) == set(deployments), f"no HPA for {set(deployments) - set(hpas)}"
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"], name
        # With an HPA in charge, a replica count in the Deployment fights it on every apply.
        assert "replicas" not in deployments[name]["spec"], f"{name}: drop spec.replicas, the HPA owns it"
        cpu = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
        assert cpu, f"{name}: the HPA needs a CPU metric (the containers request CPU)"
    assert hpas["gateway"]["spec"]["minReplicas"] >= 3


def test_production_disruption_budgets_cover_every_deployment(rendered):
    docs = rendered["production"]
    deployments = by_kind(docs, "Deployment")
    budgets = by_kind(docs, "PodDisruptionBudget")
    assert set(budgets) == set(deployments)
    for name, budget in budgets.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items(), name


def test_production_patches_are_applied(rendered):
    """The overlay's patches took effect (a patch whose target no longer matches is silently skipped)."""
    base = by_kind(rendered["base"], "Deployment")
    production = by_kind(rendered["production"], "Deployment")
    assert main_container(production["gateway"])["resources"] != main_container(base["gateway"])["resources"]
    assert main_container(production["documents"])["resources"] != main_container(base["documents"])["resources"]
    for name in nameko_services():
        assert pod_spec(production[name]).get("topologySpreadConstraints"), f"{name}: spread patch not applied"
    config = next(iter(by_kind(rendered["production"], "ConfigMap").values()))["data"]
    assert config["PORTA_PUBLIC_URL"].startswith("https://")
    assert config["PORTA_S3_SECURE"] == "true"
