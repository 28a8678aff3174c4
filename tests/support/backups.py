"""The access grants both backup-bucket suites give their buckets: a WAL archiver, a dump writer, a restore reader."""

from components.backup_access import AccessGrant
from components.backup_bucket import backup_prefix
from tools.mock_runtime import CLUSTER_STACK_OUTPUTS

ISSUER_HOST = CLUSTER_STACK_OUTPUTS["oidcIssuerUrl"].removeprefix("https://")

WAL_ARCHIVER = AccessGrant(
    role_name="prod-db-wal",
    namespace="db",
    service_account="db-cluster",
    prefixes=(backup_prefix("managed", "db"),),
    access="write",
    delete_own_objects=True,
    head_bucket=True,
)
DUMP_WRITER = AccessGrant(
    role_name="prod-db-dump",
    namespace="db",
    service_account="db-dump",
    prefixes=(backup_prefix("daily", "db"), backup_prefix("hourly", "db")),
    access="write",
)
RESTORE_READER = AccessGrant(
    role_name="prod-db-restore-check",
    namespace="db",
    service_account="db-restore-check",
    prefixes=(backup_prefix("daily", "db"),),
    access="read",
)
