"""deploy/k8s/rabbitmq: the three-node RabbitMQ cluster Porta's quorum queues live on.

Rendered with Kustomize and checked with the Kubernetes schemas (strict), then against what a
cluster needs to keep every quorum queue when a node dies: three nodes, one per machine, stable
names that peer discovery can find, a disruption budget of one, a preStop hook that waits for the
queues' majority, durable volumes, and the namespace and address Porta's settings point at.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_support import K8S, by_kind, kustomize_build, walk_strings
from test_k8s import K8S_VERSIONS, validation_errors

RABBITMQ = K8S / "rabbitmq"


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return kustomize_build(RABBITMQ)


@pytest.fixture(scope="module")
def statefulset(docs) -> dict:
    return by_kind(docs, "StatefulSet")["rabbitmq"]


@pytest.fixture(scope="module")
def pod(statefulset) -> dict:
    return statefulset["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def node(pod) -> dict:
    [container] = pod["containers"]
    return container


@pytest.fixture(scope="module")
def conf(docs) -> dict[str, str]:
    """rabbitmq.conf as key -> value."""
    [config_map] = by_kind(docs, "ConfigMap").values()
    lines = [line.strip() for line in config_map["data"]["rabbitmq.conf"].splitlines()]
    return dict(line.split(" = ", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_the_cluster_renders_as_valid_kubernetes(docs, version):
    assert docs
    errors = validation_errors(docs, version)
    assert not errors, "\n".join(errors)


def test_three_nodes_started_together_one_per_machine(statefulset, pod):
    spec = statefulset["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"  # OrderedReady deadlocks a full restart
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    by_host = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "kubernetes.io/hostname"]
    assert by_host and by_host[0]["whenUnsatisfiable"] == "DoNotSchedule" and by_host[0]["maxSkew"] == 1
    assert by_host[0]["labelSelector"]["matchLabels"].items() <= labels.items()


def test_each_node_keeps_its_data_on_its_own_volume(statefulset, node):
    [claim] = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    env = {e["name"]: e.get("value") for e in node["env"]}
    mounts = {m["name"]: m["mountPath"] for m in node["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == env["RABBITMQ_MNESIA_BASE"]


def test_nodes_find_each_other_by_stable_names(docs, statefulset, node, conf):
    namespace = statefulset["metadata"]["namespace"]
    headless = by_kind(docs, "Service")[statefulset["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    assert {p["port"] for p in headless["spec"]["ports"]} >= {4369, 25672}
    env = {e["name"]: e.get("value") for e in node["env"]}
    assert env["RABBITMQ_USE_LONGNAME"] == "true"
    assert env["RABBITMQ_NODENAME"] == (f"rabbit@$(POD_NAME).{headless['metadata']['name']}.$(POD_NAMESPACE)"
                                        ".svc.cluster.local")
    assert conf["cluster_formation.peer_discovery_backend"] == "rabbit_peer_discovery_k8s"
    assert conf["cluster_formation.k8s.address_type"] == "hostname"
    assert conf["cluster_formation.k8s.service_name"] == headless["metadata"]["name"]
    # The suffix must name the namespace the nodes really run in.
    assert conf["cluster_formation.k8s.hostname_suffix"] == (
        f".{headless['metadata']['name']}.{namespace}.svc.cluster.local")
    [config_map] = by_kind(docs, "ConfigMap").values()
    assert "rabbitmq_peer_discovery_k8s" in config_map["data"]["enabled_plugins"]


def test_peer_discovery_may_read_the_endpoints_and_nothing_more(docs, pod):
    account = pod["serviceAccountName"]
    assert pod["automountServiceAccountToken"] is True  # the plugin asks the API with the pod's token
    [binding] = by_kind(docs, "RoleBinding").values()
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "porta-infra"}]
    role = by_kind(docs, "Role")[binding["roleRef"]["name"]]
    granted = {(resource, verb) for rule in role["rules"] for resource in rule["resources"] for verb in rule["verbs"]}
    assert granted == {("endpoints", "get"), ("events", "create")}
    assert not by_kind(docs, "ClusterRole") and not by_kind(docs, "ClusterRoleBinding")


def test_one_node_at_a_time_and_only_when_its_queues_can_spare_it(docs, statefulset, node, conf):
    [budget] = by_kind(docs, "PodDisruptionBudget").values()
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == statefulset["spec"]["selector"]["matchLabels"]
    hook = " ".join(node["lifecycle"]["preStop"]["exec"]["command"])
    assert "await_online_quorum_plus_one" in hook
    waits = int(re.search(r"await_online_quorum_plus_one -t (\d+)", hook).group(1))
    assert statefulset["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > waits
    assert conf["cluster_partition_handling"] == "pause_minority"


def test_probes_and_resources(pod, node):
    assert node["readinessProbe"]["tcpSocket"]["port"] == "amqp"
    assert node["startupProbe"]["failureThreshold"] * node["startupProbe"]["periodSeconds"] >= 300
    assert node["livenessProbe"]["exec"]["command"][0] == "rabbitmq-diagnostics"
    for container in [*pod["initContainers"], *pod["containers"]]:
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), container["name"]
    # The memory alarm is computed from the container's limit, not from the machine's memory.
    assert node["resources"]["limits"]["memory"] == "2Gi"


def test_a_pinned_rabbitmq_that_has_quorum_queues_with_dead_letters_and_is_the_one_compose_runs(pod, compose):
    images = {c["image"] for c in [*pod["initContainers"], *pod["containers"]]}
    assert len(images) == 1
    [image] = images
    version = re.fullmatch(r"rabbitmq:(\d+)\.(\d+)\.(\d+)-management", image)
    assert version, image
    # Quorum queues with x-delivery-limit and at-least-once dead-lettering: RabbitMQ 3.10 or later.
    assert tuple(int(part) for part in version.groups()) >= (3, 10, 0)
    assert compose["services"]["rabbitmq"]["image"] == image


def test_runs_as_non_root_with_a_read_only_root_under_the_restricted_policy(docs, pod):
    namespace = by_kind(docs, "Namespace")["porta-infra"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    for container in [*pod["initContainers"], *pod["containers"]]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]


def test_credentials_are_placeholders_in_the_secret_and_nowhere_else(docs):
    [secret] = by_kind(docs, "Secret").values()
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, f"{secret['metadata']['name']}/{key} must stay a placeholder in git"
    assert "default_pass" in secret["stringData"]["default-user.conf"]
    for config_map in by_kind(docs, "ConfigMap").values():
        for path, value in walk_strings(config_map["data"]):
            assert not re.search(r"^\s*default_(user|pass)\s*=", value, re.M), f"credential in ConfigMap {path}"
            assert "CHANGE-ME" not in value, path


def test_porta_connects_to_this_cluster_s_client_service(docs):
    base_secret = yaml.safe_load((K8S / "base" / "secret.yaml").read_text(encoding="utf-8"))
    host = urlsplit(base_secret["stringData"]["PORTA_AMQP_URI"]).hostname
    service = by_kind(docs, "Service")["rabbitmq"]
    assert host == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    assert 5672 in {p["port"] for p in service["spec"]["ports"]}
    assert service["spec"].get("clusterIP") != "None"
