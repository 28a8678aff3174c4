#!/usr/bin/env bash
# Logical dumps of PostgreSQL databases with `pg_dump --format=custom`: each whole database and,
# separately, each listed schema (so one schema can be restored on its own).
#
# Writes DUMP_DIR/<UTC stamp>/<database>/database.dump and <database>/schemas/<schema>.dump,
# checks every archive with `pg_restore --list`, and writes DUMP_DIR/<stamp>/MANIFEST last
# (sha256sum format, paths relative to the stamp directory). upload_dump.sh ships the set.
#
# Environment:
#   PGHOST PGPORT PGUSER PGSSLMODE PGSSLROOTCERT  read by libpq (pg_dump) itself
#   PGPASSWORD_FILE  file holding the password (a mounted Secret key); or PGPASSWORD
#   DUMP_DATABASES   space-separated database names (required)
#   DUMP_SCHEMAS     space-separated schema names, dumped on their own from every database (optional)
#   DUMP_DIR         scratch directory for the archives (required)
set -euo pipefail

log() { printf '%s dump: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

: "${DUMP_DATABASES:?DUMP_DATABASES is required}"
: "${DUMP_DIR:?DUMP_DIR is required}"
if [[ -n "${PGPASSWORD_FILE:-}" ]]; then
  PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
  export PGPASSWORD
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
set_dir="$DUMP_DIR/$stamp"
mkdir -p "$set_dir"

# dump_archive ARCHIVE DATABASE [pg_dump options...]
dump_archive() {
  local archive="$1" database="$2"
  shift 2
  mkdir -p "$(dirname "$archive")"
  pg_dump --format=custom --no-password --dbname="$database" --file="$archive" "$@" \
    || die "pg_dump of $database $* failed"
  pg_restore --list "$archive" >/dev/null || die "$archive is not a readable archive"
  log "wrote $archive ($(stat -c %s "$archive") bytes)"
}

for database in $DUMP_DATABASES; do
  dump_archive "$set_dir/$database/database.dump" "$database"
  for schema in ${DUMP_SCHEMAS:-}; do
    # --strict-names: a schema that no longer exists fails the job instead of producing an empty archive.
    dump_archive "$set_dir/$database/schemas/$schema.dump" "$database" --schema="$schema" --strict-names
  done
done

(cd "$set_dir" && find . -type f -name '*.dump' | sed 's|^\./||' | sort | xargs --no-run-if-empty sha256sum >MANIFEST.partial)
mv "$set_dir/MANIFEST.partial" "$set_dir/MANIFEST"
log "dump set $stamp complete: $(wc -l <"$set_dir/MANIFEST") archives"
