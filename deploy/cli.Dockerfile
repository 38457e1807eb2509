# syntax=docker/dockerfile:1
# The `aireg` command line as an image, for operators inside the deployment's network: create the key
# pairs (`aireg keys create`), issue and revoke tokens, audit the topics, rebuild a service.
#   docker build -f deploy/cli.Dockerfile -t aireg-cli .
#   docker run --rm aireg-cli --help
# Built like the services' images (deploy/submission.Dockerfile): locked dependencies, unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --root-user-action=ignore "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PYTHON=/usr/local/bin/python3
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs/events/pyproject.toml libs/events/
COPY libs/http/pyproject.toml libs/http/
COPY services/submission/pyproject.toml services/submission/
COPY services/analysis/pyproject.toml services/analysis/
COPY services/reporting/pyproject.toml services/reporting/
COPY cli/pyproject.toml cli/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package aireg-cli
COPY libs/events/src libs/events/src
COPY libs/http/src libs/http/src
COPY services/submission/src services/submission/src
COPY services/submission/migrations services/submission/migrations
COPY services/analysis/src services/analysis/src
COPY services/analysis/migrations services/analysis/migrations
COPY services/reporting/src services/reporting/src
COPY services/reporting/migrations services/reporting/migrations
COPY cli/src cli/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package aireg-cli \
 && python -m compileall -q libs services cli
COPY deploy/migrate.py deploy/healthcheck.py deploy/wait_for_topics.py deploy/

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 aireg \
 && useradd --system --uid 10001 --gid aireg --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin aireg \
 && install -d -o 10001 -g 10001 -m 0700 /keys /keys/ring /keys/submission /keys/analysis /keys/reporting
# /keys/*: where docker-compose.yml mounts the key volumes; a fresh volume takes these owners and modes.
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
ENTRYPOINT ["aireg"]
CMD ["--help"]
