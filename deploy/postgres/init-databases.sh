#!/usr/bin/env bash
# One database per service, each owned by a login role of the same name that only it may connect to:
# nothing reads another service's database (docs/architecture.md, Stores).
#
# The postgres image runs this once, on an empty data directory (/docker-entrypoint-initdb.d), with
# POSTGRES_USER and POSTGRES_DB set. AIREG_DATABASES names the services (default: all three); each one's
# password is AIREG_<NAME>_DB_PASSWORD (NAME upper-cased). Values reach SQL only as psql variables
# (:"identifier", :'literal'), never spliced into the text.
set -euo pipefail

for name in ${AIREG_DATABASES:-submission analysis reporting}; do
  if [[ ! "$name" =~ ^[a-z][a-z0-9_]*$ ]]; then
    echo "init-databases: refusing database name '$name' (lower-case letters, digits, _)" >&2
    exit 1
  fi
  password_variable="AIREG_${name^^}_DB_PASSWORD"
  password="${!password_variable:-}"
  if [[ -z "$password" ]]; then
    echo "init-databases: set $password_variable" >&2
    exit 1
  fi
  psql --no-psqlrc --set ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" \
    --dbname "${POSTGRES_DB:-postgres}" --set name="$name" --set password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
SQL
  echo "init-databases: database $name, owned by role $name"
done
