"""docker-compose.yml: valid by the Compose Specification, and the stack it describes starts in the right
order on Apache Kafka (KRaft) and PostgreSQL 16, with the contract's topics and one database per service."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from aireg_cli.stack import KAFKA_VERSION
from tests.deploy.deployment import (
    DEPLOY,
    PORTS,
    ROOT,
    SERVICES,
    compose_environment,
    compose_mounts,
    compose_schema,
    load_compose,
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_compose_file_is_valid_by_the_compose_specification_schema(compose):
    assert schema_errors(compose) == []


def test_the_schema_check_refuses_a_mistyped_key(compose):
    broken = json.loads(json.dumps(compose))  # a copy that shares nothing (YAML aliases do)
    broken["services"]["submission"]["healthchek"] = broken["services"]["submission"].pop("healthcheck")
    assert any("healthchek" in error for error in schema_errors(broken))
    broken = json.loads(json.dumps(compose))
    broken["services"]["analysis"]["depends_on"]["postgres"]["condition"] = "service_ready"
    assert any("service_ready" in error for error in schema_errors(broken))


def test_images_are_pinned_to_exact_versions_and_kafka_is_the_one_the_tests_run(compose):
    images = {name: service.get("image", "") for name, service in compose["services"].items()}
    for name in ("kafka", "kafka-2", "kafka-3", "topics"):
        assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", images[name]), images[name]
    assert len({images[name] for name in ("kafka", "kafka-2", "kafka-3", "topics")}) == 1
    assert images["kafka"] == f"apache/kafka:{KAFKA_VERSION}", "the Apache Kafka the tests run"
    assert re.fullmatch(r"postgres:16\.\d+", images["postgres"]), images["postgres"]


def test_kafka_runs_in_kraft_mode_without_zookeeper(compose):
    kafka = compose_environment(compose["services"]["kafka"])
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert not any("zookeeper" in name for name in compose["services"])
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_ha_profile_adds_two_brokers_and_its_env_file_asks_for_three_copies_two_in_sync(compose):
    services = compose["services"]
    assert [name for name, service in services.items() if "ha" in service.get("profiles", [])] == [
        "kafka-2",
        "kafka-3",
    ]
    ha = dict(
        line.split("=", 1)
        for line in (DEPLOY / "ha.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert ha["COMPOSE_PROFILES"] == "ha"
    assert ha["AIREG_TOPIC_REPLICATION_FACTOR"] == "3"
    assert ha["AIREG_TOPIC_MIN_INSYNC_REPLICAS"] == "2"
    node_ids = set()
    for name in ("kafka", "kafka-2", "kafka-3"):
        environment = compose_environment(services[name], ha)
        node_ids.add(environment["KAFKA_NODE_ID"])
        assert environment["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
        assert environment["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert environment["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert environment["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert node_ids == {"1", "2", "3"}
    topics = compose_environment(services["topics"], ha)
    assert topics["AIREG_TOPIC_REPLICATION_FACTOR"] == "3"
    assert topics["AIREG_TOPIC_MIN_INSYNC_REPLICAS"] == "2"
    assert topics["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092,kafka-2:9092,kafka-3:9092"
    # The topics wait for the extra brokers when the profile is on, and only then.
    depends = services["topics"]["depends_on"]
    assert depends["kafka-2"] == {"condition": "service_healthy", "required": False}
    assert depends["kafka-3"] == {"condition": "service_healthy", "required": False}


def test_topics_are_created_by_the_kafka_images_own_tool_before_any_service(compose):
    topics = compose["services"]["topics"]
    assert topics["command"] == ["bash", "/opt/aireg/create-topics.sh"]
    assert compose_mounts(topics)["/opt/aireg/create-topics.sh"] == "./deploy/kafka/create-topics.sh"
    assert (ROOT / "deploy/kafka/create-topics.sh").exists()
    assert compose_environment(topics)["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    for service in SERVICES:
        assert compose["services"][service]["depends_on"]["topics"] == {
            "condition": "service_completed_successfully"
        }


def test_each_service_has_its_own_database_its_migration_and_its_health_check(compose):
    services = compose["services"]
    postgres = services["postgres"]
    assert compose_mounts(postgres)["/docker-entrypoint-initdb.d/10-aireg-databases.sh"] == (
        "./deploy/postgres/init-databases.sh"
    )
    postgres_environment = compose_environment(postgres)
    assert postgres_environment["AIREG_DATABASES"].split() == list(SERVICES)
    urls = set()
    for service in SERVICES:
        environment = compose_environment(services[service])
        url = environment["DATABASE_URL"]
        assert re.fullmatch(rf"postgresql\+asyncpg://{service}:[^@]+@postgres:5432/{service}", url), url
        assert url.split(":")[2].split("@")[0] == postgres_environment[f"AIREG_{service.upper()}_DB_PASSWORD"]
        urls.add(url)

        migrate = services[f"{service}-migrate"]
        assert migrate["command"] == ["python", "/app/deploy/migrate.py", service]
        assert compose_environment(migrate)["DATABASE_URL"] == url
        assert migrate["image"] == services[service]["image"]
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}

        depends = services[service]["depends_on"]
        assert depends[f"{service}-migrate"] == {"condition": "service_completed_successfully"}
        assert depends["keys"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["kafka"] == {"condition": "service_healthy"}
        assert services[service]["healthcheck"]["test"] == ["CMD", "python", "/app/deploy/healthcheck.py"]
        assert services[service]["build"] == {"context": ".", "dockerfile": f"deploy/{service}.Dockerfile"}
        assert services[service]["ports"] == [
            f"${{AIREG_{service.upper()}_HOST_PORT:-{PORTS[service]}}}:{PORTS[service]}"
        ]
    assert len(urls) == 3
    for name in ("postgres", "kafka"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"


def test_keys_are_created_with_aireg_keys_create_and_each_service_gets_only_its_own(compose):
    services = compose["services"]
    keys = services["keys"]
    script = keys["command"][0]
    assert "aireg keys create /keys/ring" in script
    assert compose_mounts(keys) == {
        "/keys/ring": "keyring",
        "/keys/submission": "submission-keys",
        "/keys/analysis": "analysis-keys",
        "/keys/reporting": "reporting-keys",
    }
    assert "/keys/ring/submission.key /keys/submission/signing.key" in script
    assert "/keys/ring/analysis.key /keys/analysis/signing.key" in script
    assert "reporting/signing.key" not in script
    assert "token.key" not in script  # the issuer's private key stays in the ring
    for service in SERVICES:
        assert compose_mounts(services[service]) == {"/run/aireg/keys": f"{service}-keys"}
        assert f"{service}-keys:/run/aireg/keys:ro" in services[service]["volumes"]
    assert compose_mounts(services["aireg"]) == {"/keys/ring": "keyring"}
    assert services["aireg"]["profiles"] == ["ops"]
