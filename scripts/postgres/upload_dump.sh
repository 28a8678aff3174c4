#!/usr/bin/env bash
# Uploads the dump set written by dump.sh to s3://BUCKET/PREFIX/<stamp>/. MANIFEST goes last, so a
# set without MANIFEST in the bucket is an interrupted upload and the restore check ignores it.
# Old sets are not deleted here: the bucket's lifecycle rule expires them (30 days).
#
# Environment:
#   BUCKET, PREFIX    destination (required)
#   DUMP_DIR          directory holding exactly one <stamp>/MANIFEST set (required)
#   SSE_KMS_KEY_ID    KMS key (id or ARN) to encrypt the objects with (optional; else the bucket default)
#   AWS_REGION, AWS_ENDPOINT_URL and the usual AWS credential chain (IRSA in the cluster)
set -euo pipefail

log() { printf '%s upload: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

: "${BUCKET:?BUCKET is required}"
: "${PREFIX:?PREFIX is required}"
: "${DUMP_DIR:?DUMP_DIR is required}"

shopt -s nullglob
manifests=("$DUMP_DIR"/*/MANIFEST)
[[ ${#manifests[@]} -eq 1 ]] || die "expected one complete dump set in $DUMP_DIR, found ${#manifests[@]}"
set_dir="$(dirname "${manifests[0]}")"
stamp="$(basename "$set_dir")"
destination="s3://$BUCKET/${PREFIX%/}/$stamp"

encryption=()
if [[ -n "${SSE_KMS_KEY_ID:-}" ]]; then
  encryption=(--sse aws:kms --sse-kms-key-id "$SSE_KMS_KEY_ID")
fi

aws s3 cp --recursive --only-show-errors --exclude MANIFEST ${encryption[@]+"${encryption[@]}"} \
  "$set_dir" "$destination/"
aws s3 cp --only-show-errors ${encryption[@]+"${encryption[@]}"} "$set_dir/MANIFEST" "$destination/MANIFEST"
log "uploaded dump set to $destination/"
