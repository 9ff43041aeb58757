#!/bin/bash
# Runs once, on an empty data volume (postgres image's /docker-entrypoint-initdb.d).
# One database and one owning role per building block, so no service can read another's tables.
set -euo pipefail

: "${GOVSTACK_DATABASES:?comma-separated database names}"
: "${GOVSTACK_DB_PASSWORD:?password for the per-service roles}"

for db in ${GOVSTACK_DATABASES//,/ }; do
  echo "creating role and database ${db}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
       -v db="$db" -v pw="$GOVSTACK_DB_PASSWORD" <<'SQL'
CREATE ROLE :"db" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"db";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
done
