# aireg: two commands for a fresh machine with Python 3.11+ and make.
#   make run   - the whole system on the embedded defaults (broker, three services, SQLite under ./var/)
#   make test  - ruff, mypy and the whole test suite (real broker, SQLite and PostgreSQL)

UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: run test lint typecheck pytest deps uv system-deps postgres

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv

deps: uv
	@$(UV) sync --frozen --quiet

# What the test suite needs from the operating system (Debian): a browser for the dashboard test,
# poppler to render the package PDF. Installed only when missing, and only where apt-get can run.
system-deps:
	@bash scripts/system-deps.sh

# PostgreSQL at 127.0.0.1:5432 with trust auth for local connections: installed (Debian's postgresql) and
# started when none answers, where this runs as root with apt-get; otherwise it says what is missing.
postgres:
	@bash scripts/postgres.sh

run: deps
	$(UV) run aireg up

lint: deps
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: deps
	$(UV) run mypy .

pytest: deps system-deps postgres
	$(UV) run pytest

test: lint typecheck pytest
