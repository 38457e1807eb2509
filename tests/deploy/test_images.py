"""deploy/*.Dockerfile: one image per service, built in two stages from the committed lock file, run by an
unprivileged user; everything they copy exists in the repository, so a moved folder fails here and not
in the ministry's build."""

from __future__ import annotations

import re

import pytest

from tests.deploy.deployment import DEPLOY, PORTS, ROOT, SERVICES, compose_mounts, load_compose


def dockerfile(name: str) -> str:
    return (DEPLOY / f"{name}.Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_service_image_is_multi_stage_locked_and_runs_unprivileged(service):
    steps = instructions(dockerfile(service))
    stages = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in dockerfile(service)
    runs = " ".join(arguments for keyword, arguments in steps if keyword == "RUN")
    assert f"uv sync --frozen --no-dev --no-install-workspace --package aireg-{service}" in runs
    assert f"uv sync --frozen --no-dev --package aireg-{service}" in runs
    final = steps[max(index for index, (keyword, _) in enumerate(steps) if keyword == "FROM") :]
    assert ("USER", "10001:10001") in final
    assert ("COPY", "--from=build /app /app") in final
    assert ("EXPOSE", str(PORTS[service])) in final
    assert ("CMD", f'["python", "-m", "aireg_{service}"]') in final
    assert any(
        keyword == "HEALTHCHECK" and "/app/deploy/healthcheck.py" in arguments for keyword, arguments in final
    )
    copied = [arguments for keyword, arguments in steps if keyword == "COPY"]
    assert f"services/{service}/migrations services/{service}/migrations" in copied
    assert "deploy/migrate.py deploy/healthcheck.py deploy/wait_for_topics.py deploy/" in copied


@pytest.mark.parametrize("service", SERVICES[1:])
def test_the_service_images_differ_only_in_the_service_name_and_port(service):
    submission = dockerfile("submission")
    # Every image copies all the workspace's manifests (uv needs the whole workspace); the rest is its own.
    manifests = "".join(re.findall(r"COPY services/\w+/pyproject\.toml services/\w+/\n", submission))
    assert manifests.count("COPY") == len(SERVICES)
    template = submission.replace(manifests, "@MANIFESTS@")
    expected = template.replace("submission", service).replace("8001", str(PORTS[service]))
    assert dockerfile(service) == expected.replace("@MANIFESTS@", manifests)


@pytest.mark.parametrize("name", [*SERVICES, "cli"])
def test_everything_an_image_copies_from_the_repository_exists(name):
    for keyword, arguments in instructions(dockerfile(name)):
        if keyword != "COPY" or arguments.startswith("--from="):
            continue
        *sources, _destination = arguments.split()
        for source in sources:
            assert (ROOT / source).exists(), f"{name}.Dockerfile copies {source}, which is not there"


def test_the_lock_file_the_images_install_from_is_committed():
    assert (ROOT / "uv.lock").exists()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "uv.lock" not in ignored and ".venv" in ignored and ".git" in ignored


def test_command_line_image_runs_aireg_unprivileged_and_owns_the_folders_compose_mounts_keys_on():
    steps = instructions(dockerfile("cli"))
    runs = " ".join(arguments for keyword, arguments in steps if keyword == "RUN")
    assert "uv sync --frozen --no-dev --package aireg-cli" in runs
    assert ("USER", "10001:10001") in steps
    assert ("ENTRYPOINT", '["aireg"]') in steps
    compose = load_compose()
    for target in compose_mounts(compose["services"]["keys"]):
        # A fresh named volume takes the owner of the folder it is mounted on: the image's user must own it.
        assert re.search(rf"install -d -o 10001 -g 10001 -m 0700 [^&]*{re.escape(target)}(\s|$)", runs), (
            target
        )
