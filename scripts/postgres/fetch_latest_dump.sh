#!/usr/bin/env bash
# Downloads the newest complete dump set (one whose MANIFEST was uploaded) under s3://BUCKET/PREFIX/
# into DUMP_DIR/<stamp>/. Fails when there is none, so a missing dump fails the restore check.
#
# Environment:
#   BUCKET, PREFIX    where upload_dump.sh writes (required)
#   DUMP_DIR          empty download directory (required)
#   AWS_REGION, AWS_ENDPOINT_URL and the usual AWS credential chain (IRSA in the cluster)
set -euo pipefail

log() { printf '%s fetch: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

: "${BUCKET:?BUCKET is required}"
: "${PREFIX:?PREFIX is required}"
: "${DUMP_DIR:?DUMP_DIR is required}"
prefix="${PREFIX%/}"

keys="$(aws s3api list-objects-v2 --bucket "$BUCKET" --prefix "$prefix/" --query 'Contents[].Key' --output text)"
newest=""
for key in $keys; do
  relative="${key#"$prefix/"}"
  # Stamps are UTC and fixed-width, so the greatest one is the newest.
  if [[ $relative =~ ^[0-9]{8}T[0-9]{6}Z/MANIFEST$ ]] && [[ ${relative%/MANIFEST} > $newest ]]; then
    newest="${relative%/MANIFEST}"
  fi
done
[[ -n $newest ]] || die "no complete dump set under s3://$BUCKET/$prefix/"

mkdir -p "$DUMP_DIR/$newest"
aws s3 cp --recursive --only-show-errors "s3://$BUCKET/$prefix/$newest/" "$DUMP_DIR/$newest/"
log "fetched dump set $newest"
