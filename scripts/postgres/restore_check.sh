#!/usr/bin/env bash
# Proves that the newest logical dump set restores. Fails (non-zero) when the set is older than
# MAX_AGE_HOURS, when a checksum in MANIFEST does not match, when any archive does not restore
# cleanly into a throwaway PostgreSQL, or when the restored tables do not match the archive's
# table of contents. Logs the row counts of the largest restored tables.
#
# The throwaway server is initdb'd in SCRATCH_DIR and listens only on a Unix socket there; it is
# stopped on exit and its data directory is left for whoever owns SCRATCH_DIR (an emptyDir in the Job).
# Each database archive is restored into a database of the same name, each schema archive into
# "<database>__<schema>".
#
# Environment:
#   DUMP_DIR        directory holding one <stamp>/ set from fetch_latest_dump.sh (required)
#   SCRATCH_DIR     empty directory, writable, for the throwaway server (required)
#   MAX_AGE_HOURS   newest acceptable age of the set (default 48)
#   MIN_TABLES      tables each restored database must hold at least (default 1)
#   TOP_TABLES      how many of the largest tables get an exact row count (default 10)
set -euo pipefail

log() { printf '%s restore-check: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

: "${DUMP_DIR:?DUMP_DIR is required}"
: "${SCRATCH_DIR:?SCRATCH_DIR is required}"
max_age_hours="${MAX_AGE_HOURS:-48}"
min_tables="${MIN_TABLES:-1}"
top_tables="${TOP_TABLES:-10}"

find_dump_set() {
  shopt -s nullglob
  local manifests=("$DUMP_DIR"/*/MANIFEST)
  shopt -u nullglob
  [[ ${#manifests[@]} -eq 1 ]] || die "expected one dump set in $DUMP_DIR, found ${#manifests[@]}"
  dirname "${manifests[0]}"
}

check_age() {
  local stamp="$1" taken now age_hours
  [[ $stamp =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || die "unexpected dump set name $stamp"
  taken="$(date -u -d "${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:9:2}:${stamp:11:2}:${stamp:13:2} UTC" +%s)"
  now="$(date -u +%s)"
  age_hours=$(((now - taken) / 3600))
  ((age_hours <= max_age_hours)) || die "newest dump set $stamp is ${age_hours}h old (limit ${max_age_hours}h)"
  log "dump set $stamp is ${age_hours}h old"
}

verify_checksums() {
  local set_dir="$1"
  (cd "$set_dir" && sha256sum --check --strict --quiet MANIFEST) || die "checksum mismatch in $set_dir"
  grep -q '/database\.dump$' "$set_dir/MANIFEST" || die "MANIFEST lists no database archive"
}

start_throwaway_server() {
  pgdata="$SCRATCH_DIR/pgdata"
  local socket_dir="$SCRATCH_DIR/socket"
  mkdir -p "$socket_dir"
  initdb --pgdata="$pgdata" --username=postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >/dev/null
  # Durability is pointless for a server that is thrown away; no TCP listener at all. Parallel index
  # builds take dynamic shared memory: keep it in files on the scratch volume, not the pod's small /dev/shm.
  cat >>"$pgdata/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$socket_dir'
fsync = off
full_page_writes = off
synchronous_commit = off
dynamic_shared_memory_type = mmap
CONF
  pg_ctl --pgdata="$pgdata" --log="$SCRATCH_DIR/postgres.log" --wait --timeout=120 start >/dev/null \
    || { cat "$SCRATCH_DIR/postgres.log" >&2; die "the throwaway server did not start"; }
  trap stop_throwaway_server EXIT
  unset PGDATABASE PGPASSWORD PGPASSWORD_FILE PGSSLMODE PGSSLROOTCERT PGSERVICE PGPORT
  export PGHOST="$socket_dir" PGUSER=postgres
}

stop_throwaway_server() {
  pg_ctl --pgdata="$pgdata" --mode=fast --wait stop >/dev/null || true
}

sql() {  # sql DATABASE QUERY
  psql --no-psqlrc --quiet --no-align --tuples-only --set=ON_ERROR_STOP=1 --dbname="$1" --command="$2"
}

# Tables, in the whole database or in one schema, that were not created by an extension.
user_tables_sql() {
  local schema="$1" filter="n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'"
  [[ -z $schema ]] || filter="n.nspname = '$schema'"
  cat <<SQL
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND $filter
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
SQL
}

restore_archive() {  # restore_archive ARCHIVE DATABASE
  local archive="$1" database="$2"
  if [[ -z "$(sql postgres "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]]; then
    createdb "$database"
  fi
  pg_restore --exit-on-error --no-owner --no-privileges --dbname="$database" "$archive" \
    || die "pg_restore of $archive failed"
}

check_restored() {  # check_restored ARCHIVE DATABASE SCHEMA MIN_TABLES
  local archive="$1" database="$2" schema="$3" minimum="$4" listed restored
  listed="$(pg_restore --list "$archive" | awk '!/^;/ && $4 == "TABLE" && $5 != "DATA"' | wc -l)"
  restored="$(sql "$database" "SELECT count(*) $(user_tables_sql "$schema")")"
  ((listed == restored)) || die "$archive lists $listed tables but $restored were restored into $database"
  ((restored >= minimum)) || die "$database holds $restored tables after restore (expected at least $minimum)"
  sql "$database" "ANALYZE" >/dev/null
  local table rows
  while read -r table; do
    [[ -n $table ]] || continue
    rows="$(sql "$database" "SELECT count(*) FROM $table")"
    log "$database: $table has $rows rows"
  done < <(sql "$database" "SELECT format('%I.%I', n.nspname, c.relname) $(user_tables_sql "$schema")
                           ORDER BY pg_total_relation_size(c.oid) DESC LIMIT $top_tables")
  log "$database: $restored tables restored from $(basename "$archive"), matching its table of contents"
}

set_dir="$(find_dump_set)"
check_age "$(basename "$set_dir")"
verify_checksums "$set_dir"
start_throwaway_server

archives=0
for database_dir in "$set_dir"/*/; do
  database_dir="${database_dir%/}"
  database="$(basename "$database_dir")"
  restore_archive "$database_dir/database.dump" "$database"
  check_restored "$database_dir/database.dump" "$database" "" "$min_tables"
  archives=$((archives + 1))
  for schema_archive in "$database_dir"/schemas/*.dump; do
    [[ -e $schema_archive ]] || continue
    schema="$(basename "$schema_archive" .dump)"
    restore_archive "$schema_archive" "${database}__${schema}"
    check_restored "$schema_archive" "${database}__${schema}" "$schema" 0
    archives=$((archives + 1))
  done
done
log "passed: $archives archives of dump set $(basename "$set_dir") restored and checked"
