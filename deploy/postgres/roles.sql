-- caunoi replicated PostgreSQL: roles, created once on the primary (the standby gets them
-- by replication).
--
--   psql -U postgres -d postgres -v ON_ERROR_STOP=1 \
--        -v caunoi_password="$CAUNOI_PG_PASSWORD" \
--        -v replicator_password="$REPLICATOR_PG_PASSWORD" \
--        -f deploy/postgres/roles.sql

-- This runs before any standby exists; with synchronous_standby_names set, a normal COMMIT
-- would wait for one forever. For this session only, commit locally.
SET synchronous_commit = local;

-- Used by the standbys' walreceivers (pg_basebackup and streaming).
CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD :'replicator_password';

-- Used by the services (DATABASE_URL). Not a superuser: CREATEDB is all it needs, since
-- each service creates its own database caunoi_<service> on first start and owns it.
CREATE ROLE caunoi WITH LOGIN CREATEDB PASSWORD :'caunoi_password';
