"""Every setting a service needs is set in docker-compose.yml and in the Kubernetes manifests, with
values the service accepts: read from the services' own Settings classes, so a new required setting
fails here until both deployments set it, and a mistyped name (which pydantic-settings would ignore)
fails too."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from tests.deploy.deployment import (
    PORTS,
    SERVICES,
    SETTINGS,
    compose_environment,
    compose_mounts,
    container,
    kubernetes_environment,
    load_compose,
    load_manifests,
    mounted_files,
    required_variables,
    setting_variables,
)

PLACEHOLDER_DATABASE_URL = "postgresql+asyncpg://aireg:secret@postgres.example:5432/aireg"
"""Stands for a value that comes from a Secret at deploy time."""


def compose_service_environment(service: str) -> dict[str, str]:
    return compose_environment(load_compose()["services"][service])


def kubernetes_service_environment(service: str) -> dict[str, str]:
    manifests = load_manifests()
    main = container(manifests.get("Deployment", f"aireg-{service}"), service)
    environment = kubernetes_environment(manifests, main)
    values = dict(environment.values)
    for name, reference in environment.secrets.items():
        assert reference.secret == f"aireg-{service}", f"{service} reads {name} from another service's Secret"
        values[name] = PLACEHOLDER_DATABASE_URL if name == "DATABASE_URL" else "from-a-secret"
    return values


DEPLOYMENTS = {"compose": compose_service_environment, "kubernetes": kubernetes_service_environment}


def settings_from(
    settings: type[BaseSettings], environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The service's Settings exactly as the container would build them: from this environment alone."""
    import os

    for name in list(os.environ):
        if name.startswith("AIREG_") or name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return settings()


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_required_setting_is_set_and_every_set_name_is_a_setting(service, deployment):
    settings = SETTINGS[service]
    environment = DEPLOYMENTS[deployment](service)
    assert required_variables(settings) <= set(environment), "required settings left unset"
    assert {"DATABASE_URL", "AIREG_TOKEN_PUBLIC_KEY_FILE"} <= required_variables(settings)
    unknown = {name for name in environment if name not in setting_variables(settings)}
    assert unknown == set(), f"{service} reads none of these (mistyped?)"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_and_kubernetes_set_the_same_settings(service):
    assert set(compose_service_environment(service)) == set(kubernetes_service_environment(service))


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
@pytest.mark.parametrize("service", SERVICES)
def test_the_service_accepts_its_settings_and_they_fit_a_container_on_apache_kafka(
    service, deployment, monkeypatch
):
    settings = settings_from(SETTINGS[service], DEPLOYMENTS[deployment](service), monkeypatch)
    assert settings.host == "0.0.0.0"
    assert settings.port == PORTS[service]
    assert settings.kafka_enable_idempotence is True
    assert settings.run_migrations is False, "the migration step runs before the service"
    assert settings.topic_namespace == ""
    assert settings.consumer_group == f"aireg-{service}"
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert "127.0.0.1" not in settings.kafka_bootstrap_servers
    assert settings.topic_partitions >= 2


def _file_settings(settings: Any) -> dict[str, PurePosixPath]:
    return {
        name: PurePosixPath(str(value))
        for name, value in settings
        if name.endswith("_file") and value is not None
    }


@pytest.mark.parametrize("service", SERVICES)
def test_key_files_the_settings_name_are_mounted_in_compose(service, monkeypatch):
    compose = load_compose()
    settings = settings_from(SETTINGS[service], compose_service_environment(service), monkeypatch)
    files = _file_settings(settings)
    assert set(files) >= {"token_public_key_file", "revoked_tokens_file"}
    assert ("signing_key_file" in files) == (service != "reporting")
    mounts = compose_mounts(compose["services"][service])
    keys_script = compose["services"]["keys"]["command"][0]
    for name, path in files.items():
        volume = mounts[str(path.parent)]
        assert volume == f"{service}-keys", name
        # The keys one-shot writes this file into that volume.
        target = f"/keys/{service}/{path.name}"
        loop_target = f"/keys/$$service/{path.name}"
        assert target in keys_script or loop_target in keys_script, f"{name}: nothing writes {path.name}"


@pytest.mark.parametrize("service", SERVICES)
def test_key_files_the_settings_name_are_mounted_in_kubernetes(service, monkeypatch):
    manifests = load_manifests()
    deployment = manifests.get("Deployment", f"aireg-{service}")
    main = container(deployment, service)
    settings = settings_from(SETTINGS[service], kubernetes_service_environment(service), monkeypatch)
    mounted = mounted_files(manifests, deployment, main)
    for name, path in _file_settings(settings).items():
        assert str(path) in mounted, f"{name}: {path} is not mounted"
