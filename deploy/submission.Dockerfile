# syntax=docker/dockerfile:1
# The submission service's image. Build from the repository root:
#   docker build -f deploy/submission.Dockerfile -t aireg-submission .
# Stage one installs exactly the locked versions (uv.lock, --frozen) of what this service needs into
# /app/.venv; stage two is a slim Python with that environment and the sources, run by an unprivileged
# user. The workspace packages stay editable installs at /app: a service finds its Alembic migrations
# beside its sources (aireg_submission.app.MIGRATIONS), which a wheel would leave behind.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --root-user-action=ignore "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PYTHON=/usr/local/bin/python3
WORKDIR /app
# The manifests first, so the dependency layer is rebuilt only when they or the lock change.
COPY pyproject.toml uv.lock ./
COPY libs/events/pyproject.toml libs/events/
COPY libs/http/pyproject.toml libs/http/
COPY services/submission/pyproject.toml services/submission/
COPY services/analysis/pyproject.toml services/analysis/
COPY services/reporting/pyproject.toml services/reporting/
COPY cli/pyproject.toml cli/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package aireg-submission
COPY libs/events/src libs/events/src
COPY libs/http/src libs/http/src
COPY services/submission/src services/submission/src
COPY services/submission/migrations services/submission/migrations
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package aireg-submission \
 && python -m compileall -q libs services
COPY deploy/migrate.py deploy/healthcheck.py deploy/wait_for_topics.py deploy/

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 aireg \
 && useradd --system --uid 10001 --gid aireg --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin aireg
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AIREG_HOST=0.0.0.0 \
    AIREG_PORT=8001
# Root owns the code; the service only reads it.
USER 10001:10001
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
CMD ["python", "-m", "aireg_submission"]
