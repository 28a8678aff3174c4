#!/usr/bin/env bash
# Point-in-time restore drill (X-09, S3-11): proves that the database recovers to a chosen moment from its
# Barman Cloud object store (base backup + archived WAL), not only that the newest data is there.
#
# 1. In the source database: a marker row, the target time, a second marker after it; then wait until the
#    WAL holding the second marker is archived (so recovery can reach past the target and stop at it).
# 2. Create the scratch Cluster from CLUSTER_MANIFEST (CloudNativePG `bootstrap.recovery` with
#    `recoveryTarget.targetTime`, through the Barman Cloud plugin) and wait until it is Ready.
# 3. Check the recovered database: it answers, every table the source had before the target exists, the
#    marker written before the target is there and the one written after it is not.
# 4. Delete the scratch Cluster (also when anything above fails, and a leftover one first).
# Any failure exits non-zero with a line starting `PITR drill FAILED:`.
#
# Environment:
#   PGHOST PGPORT PGUSER PGDATABASE PGSSLMODE PGSSLROOTCERT  the source primary, read by libpq (psql)
#   PGPASSWORD_FILE      file holding the owner's password (a mounted Secret key); or PGPASSWORD
#   NAMESPACE            namespace of both clusters (required)
#   SCRATCH_CLUSTER      name of the scratch Cluster (required)
#   SCRATCH_HOST         host of the scratch cluster's primary (required)
#   CLUSTER_MANIFEST     the scratch Cluster as JSON, `__TARGET_TIME__` where the target goes (required)
#   KUBECTL              kubectl binary (default: kubectl on PATH)
#   ARCHIVE_TIMEOUT_SECONDS   how long to wait for the WAL to reach the object store (default 1200)
#   RECOVERY_TIMEOUT_SECONDS  how long the recovery may take (default 5400)
#   POLL_SECONDS         pause between archive checks (default 15)
set -euo pipefail
export LC_ALL=C # byte order for comparing WAL names and table lists

log() { printf '%s pitr-drill: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
  printf 'PITR drill FAILED: %s\n' "$*" >&2
  exit 1
}

: "${NAMESPACE:?NAMESPACE is required}"
: "${SCRATCH_CLUSTER:?SCRATCH_CLUSTER is required}"
: "${SCRATCH_HOST:?SCRATCH_HOST is required}"
: "${CLUSTER_MANIFEST:?CLUSTER_MANIFEST is required}"
: "${PGDATABASE:?PGDATABASE is required}"
KUBECTL="${KUBECTL:-kubectl}"
ARCHIVE_TIMEOUT_SECONDS="${ARCHIVE_TIMEOUT_SECONDS:-1200}"
RECOVERY_TIMEOUT_SECONDS="${RECOVERY_TIMEOUT_SECONDS:-5400}"
POLL_SECONDS="${POLL_SECONDS:-15}"
if [[ -n "${PGPASSWORD_FILE:-}" ]]; then
  PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
  export PGPASSWORD
fi
SOURCE_HOST="$PGHOST"

# sql HOST STATEMENT: one value per line, unaligned; fails on any SQL error.
sql() {
  PGHOST="$1" psql --no-psqlrc -X -At --quiet -v ON_ERROR_STOP=1 --no-password -c "$2"
}

remove_scratch() {
  "$KUBECTL" -n "$NAMESPACE" delete cluster "$SCRATCH_CLUSTER" --ignore-not-found --wait=true --timeout=900s \
    || log "WARNING: could not delete Cluster $SCRATCH_CLUSTER; delete it by hand"
}

USER_TABLES="SELECT schemaname || '.' || tablename FROM pg_tables
  WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"

# --- 1. markers and the target time in the source ---------------------------------------------------
sql "$SOURCE_HOST" "SELECT 1" >/dev/null || fail "the source database $PGDATABASE on $SOURCE_HOST does not answer"
sql "$SOURCE_HOST" "CREATE SCHEMA IF NOT EXISTS ai_platform_drill;
  CREATE TABLE IF NOT EXISTS ai_platform_drill.markers (
    id bigserial PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp(), note text NOT NULL);
  DELETE FROM ai_platform_drill.markers WHERE written_at < now() - interval '90 days'" >/dev/null \
  || fail "could not create the marker table ai_platform_drill.markers in the source"
mark() {
  sql "$SOURCE_HOST" "INSERT INTO ai_platform_drill.markers (note) VALUES ('$1') RETURNING id" \
    || fail "could not write a marker in the source"
}
tables="$(sql "$SOURCE_HOST" "$USER_TABLES")"
before="$(mark 'before the target')"
sleep 1
# Microseconds and an explicit UTC offset: the format recovery_target_time and CloudNativePG accept.
target="$(sql "$SOURCE_HOST" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")"
sleep 1
after="$(mark 'after the target')"
segment="$(sql "$SOURCE_HOST" "SELECT pg_walfile_name(pg_current_wal_lsn())")"
log "target time $target: marker $before before it, marker $after after it (WAL segment $segment)"

# WAL segment names sort in the order they are written (timeline, then position); archive_timeout makes
# the server switch segments, so the marker's segment reaches the object store within minutes.
deadline=$((SECONDS + ARCHIVE_TIMEOUT_SECONDS))
while true; do
  archived="$(sql "$SOURCE_HOST" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")"
  if [[ "$archived" =~ ^[0-9A-F]{24}$ && ! "$archived" < "$segment" ]]; then
    break
  fi
  ((SECONDS < deadline)) \
    || fail "WAL segment $segment was not archived within ${ARCHIVE_TIMEOUT_SECONDS}s (last archived: ${archived:-none}); WAL archiving is behind"
  sleep "$POLL_SECONDS"
done
log "WAL up to $archived is archived"

# --- 2. recover the scratch cluster to the target ---------------------------------------------------
remove_scratch
trap remove_scratch EXIT
sed "s/__TARGET_TIME__/$target/" "$CLUSTER_MANIFEST" | "$KUBECTL" -n "$NAMESPACE" create -f - \
  || fail "could not create Cluster $SCRATCH_CLUSTER"
log "recovering Cluster $SCRATCH_CLUSTER to $target"
if ! "$KUBECTL" -n "$NAMESPACE" wait "cluster/$SCRATCH_CLUSTER" --for=condition=Ready \
  --timeout="${RECOVERY_TIMEOUT_SECONDS}s"; then
  phase="$("$KUBECTL" -n "$NAMESPACE" get cluster "$SCRATCH_CLUSTER" -o 'jsonpath={.status.phase}: {.status.phaseReason}' || true)"
  fail "Cluster $SCRATCH_CLUSTER did not recover to $target within ${RECOVERY_TIMEOUT_SECONDS}s (${phase:-no status})"
fi

# --- 3. check the recovered database ----------------------------------------------------------------
sql "$SCRATCH_HOST" "SELECT 1" >/dev/null || fail "the recovered database $PGDATABASE on $SCRATCH_HOST does not answer"
recovered="$(sql "$SCRATCH_HOST" "$USER_TABLES")" || fail "could not list the recovered tables"
missing="$(comm -23 <(printf '%s\n' "$tables" | sort) <(printf '%s\n' "$recovered" | sort))"
[[ -z "$missing" ]] || fail "tables missing after recovery: $(echo "$missing" | tr '\n' ' ')"
found="$(sql "$SCRATCH_HOST" "SELECT count(*) FROM ai_platform_drill.markers WHERE id = $before")" \
  || fail "could not read the markers from the recovered database"
[[ "$found" == 1 ]] || fail "marker $before, written before $target, is missing: the recovery lost data"
found="$(sql "$SCRATCH_HOST" "SELECT count(*) FROM ai_platform_drill.markers WHERE id = $after")" \
  || fail "could not read the markers from the recovered database"
[[ "$found" == 0 ]] || fail "marker $after, written after $target, is present: the recovery did not stop at the target"
log "OK: $PGDATABASE recovered to $target with its $(echo "$recovered" | wc -l) tables; removing $SCRATCH_CLUSTER"
