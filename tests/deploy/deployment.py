"""The deployment as the repository declares it, read the way Compose and Kubernetes read it: the compose
file with its variables at their defaults, the Kubernetes manifests, and what each service's container
gets in its environment and on its file system. The settings the services read come from their
pydantic-settings classes, so these tests follow the code."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from pydantic_settings import BaseSettings

from aireg_analysis.settings import Settings as AnalysisSettings
from aireg_reporting.settings import Settings as ReportingSettings
from aireg_submission.settings import Settings as SubmissionSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
KUBERNETES = DEPLOY / "kubernetes"

SETTINGS: dict[str, type[BaseSettings]] = {
    "submission": SubmissionSettings,
    "analysis": AnalysisSettings,
    "reporting": ReportingSettings,
}
SERVICES = tuple(SETTINGS)
PORTS = {"submission": 8001, "analysis": 8002, "reporting": 8003}

KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
"""The oldest Kubernetes these manifests are meant for, and the newest whose schemas we have."""


def load_script(name: str) -> ModuleType:
    """One of the scripts in deploy/ (they are not a package), imported from its file."""
    spec = importlib.util.spec_from_file_location(f"deploy_{name}", DEPLOY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def environment_variable(settings: type[BaseSettings], name: str) -> str:
    """The variable a settings field is read from: its alias (``DATABASE_URL``) or prefix + NAME."""
    alias = settings.model_fields[name].validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        return str(choices[0])
    if isinstance(alias, str):
        return alias
    return str(settings.model_config.get("env_prefix", "")) + name.upper()


def setting_variables(settings: type[BaseSettings]) -> dict[str, str]:
    """Every variable the class reads → its field name."""
    return {environment_variable(settings, name): name for name in settings.model_fields}


def required_variables(settings: type[BaseSettings]) -> set[str]:
    return {
        environment_variable(settings, name)
        for name, info in settings.model_fields.items()
        if info.is_required()
    }


# --- Compose ---------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


def interpolate(value: str, environment: dict[str, str]) -> str:
    """Compose's variable interpolation for the forms the file uses: ``${X}``, ``${X:-default}``, ``$$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, default = match.group("name"), match.group("op"), match.group("default") or ""
        current = environment.get(name)
        if op == ":-":
            return current if current else default
        if op == "-":
            return current if current is not None else default
        if op in (":?", "?"):
            if not current:
                raise KeyError(f"compose needs {name}: {default}")
            return current
        return current or ""

    return _VARIABLE.sub(replace, value)


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as the ``check-jsonschema`` package ships it."""
    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def compose_environment(service: dict[str, Any], environment: dict[str, str] | None = None) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {name: interpolate(str(value), environment or {}) for name, value in raw.items()}


def compose_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → source (volume name or host path) of a compose service's volumes."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[target] = source
    return mounts


# --- Kubernetes -------------------------------------------------------------------------------------


@dataclass
class Manifests:
    documents: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [document for _, document in self.documents if document["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for document in self.of_kind(kind):
            if document["metadata"]["name"] == name:
                return document
        raise KeyError(f"no {kind} {name} in {KUBERNETES}")

    def has(self, kind: str, name: str) -> bool:
        return any(document["metadata"]["name"] == name for document in self.of_kind(kind))


def load_kustomization() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    return document


def load_manifests() -> Manifests:
    manifests = Manifests()
    for name in load_kustomization()["resources"]:
        path = KUBERNETES / name
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                manifests.documents.append((path, document))
    return manifests


@dataclass(frozen=True)
class SecretReference:
    secret: str
    key: str


@dataclass
class ContainerEnvironment:
    values: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, SecretReference] = field(default_factory=dict)

    def names(self) -> set[str]:
        return set(self.values) | set(self.secrets)


def kubernetes_environment(manifests: Manifests, container: dict[str, Any]) -> ContainerEnvironment:
    """What a container finds in its environment: ConfigMap values resolved, Secret keys named."""
    environment = ContainerEnvironment()
    for source in container.get("envFrom") or []:
        config_map = manifests.get("ConfigMap", source["configMapRef"]["name"])
        environment.values.update({key: str(value) for key, value in config_map["data"].items()})
    for variable in container.get("env") or []:
        name = variable["name"]
        if "value" in variable:
            environment.values[name] = str(variable["value"])
            continue
        reference = variable["valueFrom"]
        if "configMapKeyRef" in reference:
            ref = reference["configMapKeyRef"]
            environment.values[name] = str(manifests.get("ConfigMap", ref["name"])["data"][ref["key"]])
        elif "secretKeyRef" in reference:
            ref = reference["secretKeyRef"]
            environment.secrets[name] = SecretReference(ref["name"], ref["key"])
        else:
            raise AssertionError(f"{name}: unsupported valueFrom {reference}")
    return environment


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    spec = pod_spec(workload)
    for candidate in spec.get("containers", []) + spec.get("initContainers", []):
        if candidate["name"] == name:
            return dict(candidate)
    raise KeyError(f"no container {name} in {workload['metadata']['name']}")


def mounted_files(manifests: Manifests, workload: dict[str, Any], container_spec: dict[str, Any]) -> set[str]:
    """Paths of the files that ConfigMap, Secret and projected volumes put into a container."""
    volumes = {volume["name"]: volume for volume in pod_spec(workload).get("volumes", [])}
    paths: set[str] = set()
    for mount in container_spec.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        sources = volume["projected"]["sources"] if "projected" in volume else [volume]
        for source in sources:
            for kind in ("configMap", "secret"):
                if kind in source:
                    items = source[kind].get("items")
                    if items is None:
                        raise AssertionError(f"{mount['name']}: list the {kind} items that are mounted")
                    paths.update(f"{mount['mountPath']}/{item['path']}" for item in items)
    return paths


# --- What the operations guide has operators create by hand ----------------------------------------

OPERATIONS_GUIDE = ROOT / "docs" / "operations.md"
_CREATE = re.compile(
    r"kubectl\b.*?\bcreate\s+(?:secret\s+generic|configmap)\s+(?P<name>[a-z0-9-]+)(?P<rest>.*)"
)
_FROM = re.compile(r"--from-(?:file|literal)=(?P<key>[A-Za-z0-9._-]+)=")


def created_by_operations_guide() -> dict[tuple[str, str], set[str]]:
    """(kind, name) → keys of the Secrets and ConfigMaps that the operations guide's kubectl commands create."""
    text = OPERATIONS_GUIDE.read_text().replace("\\\n", " ")
    created: dict[tuple[str, str], set[str]] = {}
    for line in text.splitlines():
        match = _CREATE.search(line)
        if match is None:
            continue
        kind = "ConfigMap" if " configmap " in line else "Secret"
        keys = {found.group("key") for found in _FROM.finditer(match.group("rest"))}
        created.setdefault((kind, match.group("name")), set()).update(keys)
    return created
