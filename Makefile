# aireg: two commands for a fresh machine with Python 3.11+ and make.
#   make run   - the whole system on the embedded defaults (broker, three services, SQLite under ./var/)
#   make test  - ruff, mypy and the whole test suite (Apache Kafka and Tansu, SQLite and PostgreSQL)

UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: run test lint typecheck pytest deps uv system-deps postgres kafka axe docs

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv

deps: uv
	@$(UV) sync --frozen --quiet

# What the test suite needs from the operating system (Debian): a browser for the dashboard tests,
# Node.js and npm for axe-core, poppler to render the package PDF. Installed only when missing, and only
# where apt-get can run.
system-deps:
	@bash scripts/system-deps.sh

# axe-core, pinned in services/reporting/tests/accessibility, for the dashboard's accessibility test (its
# node_modules is not committed). Without npm it says so; the test then skips, or fails under
# AIREG_REQUIRE_AXE=1 or CI.
axe: system-deps
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix services/reporting/tests/accessibility --no-audit --no-fund --silent; \
	else echo "npm is missing: the dashboard's accessibility test cannot run axe-core"; fi

# PostgreSQL at 127.0.0.1:5432 with trust auth for local connections: installed (Debian's postgresql) and
# started when none answers, where this runs as root with apt-get; otherwise it says what is missing.
postgres:
	@bash scripts/postgres.sh

# Apache Kafka for the tests: the pinned broker's jars, fetched from Maven Central with the machine's
# Maven into ~/.cache/aireg (AIREG_KAFKA_CACHE) when missing, run on the machine's Java 17. Without them
# it says why; the Apache Kafka tests then skip, or fail under AIREG_REQUIRE_KAFKA=1 (CI).
kafka: deps
	@$(UV) run python scripts/kafka.py

# The contract documents under docs/api/, generated from the code (tests/docs fails when they differ).
docs: deps
	$(UV) run aireg openapi submission --out docs/api/submission.openapi.json
	$(UV) run aireg openapi analysis --out docs/api/analysis.openapi.json
	$(UV) run aireg openapi reporting --out docs/api/reporting.openapi.json
	$(UV) run aireg asyncapi --out docs/api/asyncapi.json

run: deps
	$(UV) run aireg up

lint: deps
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: deps
	$(UV) run mypy .

pytest: deps system-deps axe postgres kafka
	$(UV) run pytest

test: lint typecheck pytest
