"""deploy/kubernetes: valid by the Kubernetes JSON schemas (strict: no unknown field), and the objects fit
together: probes on /health at the service's port, migration Jobs, replicas of a service in one consumer
group under a HorizontalPodAutoscaler, the topics Job running the same script as compose."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.deployment import (
    DEPLOY,
    KUBERNETES,
    KUBERNETES_VERSIONS,
    PORTS,
    SERVICES,
    Manifests,
    container,
    created_by_operations_guide,
    kubernetes_environment,
    load_kustomization,
    load_manifests,
    pod_spec,
)


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    return load_manifests()


def test_kustomization_lists_every_manifest_and_names_every_image():
    kustomization = load_kustomization()
    listed = set(kustomization["resources"])
    present = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert {image["name"] for image in kustomization["images"]} == {
        f"aireg-{service}" for service in SERVICES
    }
    assert kustomization["namespace"] == "aireg"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_by_the_kubernetes_schemas(manifests, version):
    invalid = []
    for path, document in manifests.documents:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            invalid.append(f"{path.name} {document['kind']}/{document['metadata']['name']}: {error.message}")
    assert invalid == []
    kinds = {document["kind"] for _, document in manifests.documents}
    assert {"Deployment", "Service", "Job", "HorizontalPodAutoscaler", "ConfigMap"} <= kinds


def test_the_schema_check_refuses_a_mistyped_field(manifests):
    deployment = copy.deepcopy(manifests.get("Deployment", "aireg-submission"))
    probe = deployment["spec"]["template"]["spec"]["containers"][0].pop("livenessProbe")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = probe
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    deployment = copy.deepcopy(manifests.get("Deployment", "aireg-submission"))
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8001"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_probes_health_on_the_port_the_service_listens_on(manifests, service):
    deployment = manifests.get("Deployment", f"aireg-{service}")
    main = container(deployment, service)
    assert main["image"] == f"aireg-{service}"
    assert main["ports"] == [{"name": "http", "containerPort": PORTS[service]}]
    assert kubernetes_environment(manifests, main).values["AIREG_PORT"] == str(PORTS[service])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    assert main["resources"]["requests"]["cpu"] and main["resources"]["requests"]["memory"]
    assert main["resources"]["limits"]["memory"]
    security = main["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert pod_spec(deployment)["securityContext"]["runAsNonRoot"] is True
    assert pod_spec(deployment)["securityContext"]["runAsUser"] == 10001
    assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns the replica count"

    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    kube_service = manifests.get("Service", f"aireg-{service}")
    assert kube_service["spec"]["selector"].items() <= labels.items()
    assert kube_service["spec"]["ports"][0]["targetPort"] == "http"
    budget = manifests.get("PodDisruptionBudget", f"aireg-{service}")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("service", SERVICES)
def test_migration_job_migrates_and_pods_wait_for_the_schema_and_the_topics(manifests, service):
    job = manifests.get("Job", f"aireg-{service}-migrate")
    migrate = pod_spec(job)["containers"][0]
    assert migrate["image"] == f"aireg-{service}"
    assert migrate["command"] == ["python", "/app/deploy/migrate.py", service]
    deployment = manifests.get("Deployment", f"aireg-{service}")
    init = [entry["name"] for entry in pod_spec(deployment)["initContainers"]]
    assert init == ["wait-for-schema", "wait-for-topics"]
    assert container(deployment, "wait-for-schema")["command"] == [
        "python",
        "/app/deploy/migrate.py",
        service,
        "--wait",
        "600",
    ]
    assert container(deployment, "wait-for-topics")["command"][:2] == [
        "python",
        "/app/deploy/wait_for_topics.py",
    ]
    # The Job and the pods use one database, and the service itself does not migrate.
    job_env = kubernetes_environment(manifests, migrate)
    service_env = kubernetes_environment(manifests, container(deployment, service))
    assert job_env.secrets["DATABASE_URL"] == service_env.secrets["DATABASE_URL"]
    assert service_env.values["AIREG_RUN_MIGRATIONS"] == "false"
    assert (DEPLOY / "migrate.py").exists() and (DEPLOY / "wait_for_topics.py").exists()


@pytest.mark.parametrize("service", SERVICES)
def test_consumers_scale_horizontally_in_one_group_up_to_the_partition_count(manifests, service):
    hpa = manifests.get("HorizontalPodAutoscaler", f"aireg-{service}")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"aireg-{service}",
    }
    environment = kubernetes_environment(
        manifests, container(manifests.get("Deployment", f"aireg-{service}"), service)
    )
    partitions = int(environment.values["AIREG_TOPIC_PARTITIONS"])
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions
    # Every replica reads the same group name, so replicas share the partitions instead of each reading all.
    assert environment.values["AIREG_CONSUMER_GROUP"] == f"aireg-{service}"


def test_topics_job_runs_the_same_script_as_compose_with_three_copies_two_in_sync(manifests):
    script = (DEPLOY / "kafka/create-topics.sh").read_text()
    assert manifests.get("ConfigMap", "aireg-create-topics")["data"]["create-topics.sh"] == script
    job = manifests.get("Job", "aireg-topics")
    main = pod_spec(job)["containers"][0]
    compose_image = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())["services"]["kafka"][
        "image"
    ]
    assert main["image"] == compose_image
    assert main["command"] == ["bash", "/opt/aireg/create-topics.sh"]
    environment = kubernetes_environment(manifests, main)
    assert environment.values["AIREG_TOPIC_REPLICATION_FACTOR"] == "3"
    assert environment.values["AIREG_TOPIC_MIN_INSYNC_REPLICAS"] == "2"
    assert (
        environment.values["KAFKA_BOOTSTRAP_SERVERS"]
        == manifests.get("ConfigMap", "aireg-config")["data"]["KAFKA_BOOTSTRAP_SERVERS"]
    )


def _referenced(manifests: Manifests) -> dict[tuple[str, str], set[str]]:
    """(kind, name) → keys, of every ConfigMap and Secret that pods read."""
    found: dict[tuple[str, str], set[str]] = {}

    def note(kind: str, name: str, key: str | None) -> None:
        found.setdefault((kind, name), set()).update([key] if key else [])

    for kind in ("Deployment", "Job"):
        for workload in manifests.of_kind(kind):
            spec = pod_spec(workload)
            for entry in spec.get("containers", []) + spec.get("initContainers", []):
                for source in entry.get("envFrom", []):
                    note("ConfigMap", source["configMapRef"]["name"], None)
                for variable in entry.get("env", []):
                    reference: dict[str, Any] = variable.get("valueFrom", {})
                    if "configMapKeyRef" in reference:
                        note(
                            "ConfigMap",
                            reference["configMapKeyRef"]["name"],
                            reference["configMapKeyRef"]["key"],
                        )
                    if "secretKeyRef" in reference:
                        note("Secret", reference["secretKeyRef"]["name"], reference["secretKeyRef"]["key"])
            for volume in spec.get("volumes", []):
                sources = volume["projected"]["sources"] if "projected" in volume else [volume]
                for source in sources:
                    for kind_key, kind_name in (("configMap", "ConfigMap"), ("secret", "Secret")):
                        if kind_key in source:
                            name = source[kind_key].get("name") or source[kind_key].get("secretName")
                            for item in source[kind_key].get("items", []):
                                note(kind_name, name, item["key"])
    return found


def test_what_pods_read_is_either_in_the_manifests_or_created_by_the_operations_guide(manifests):
    by_hand = created_by_operations_guide()
    missing = []
    for (kind, name), keys in sorted(_referenced(manifests).items()):
        if manifests.has(kind, name):
            data = manifests.get(kind, name).get("data", {})
            missing += [f"{kind} {name}: key {key}" for key in sorted(keys - set(data))]
        elif (kind, name) in by_hand:
            missing += [
                f"{kind} {name} (operations guide): key {key}" for key in sorted(keys - by_hand[(kind, name)])
            ]
        else:
            missing.append(f"{kind} {name}: neither in deploy/kubernetes nor created in docs/operations.md")
    assert missing == []
