"""What a PostgresCluster is watched with: reachable, backed up within its recovery point, dumped daily and
restorable (X-09, S3-11), and its dashboard row. Thresholds are parameters with the platform's defaults.

Conventions these rely on (PostgresCluster keeps them): the PodMonitor sets `job="postgres"`, instances are
pods `<cluster>-<n>`, the CronJobs are `<cluster>-logical-dump` and `<cluster>-restore-check`, and the Barman
Cloud plugin exports the newest backup's timestamp.
"""

from __future__ import annotations

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import SAMPLES, duration, gauge, series
from components.app_observability import cronjob_alerts
from components.dashboards import PanelSpec, Query, RowSpec, good_below
from components.pitr_drill import drill_names

# X-09 / S3-11: database RPO 1 h (continuous WAL archiving), daily base backups and dumps, weekly restore check
# and point-in-time restore drill.
RPO_SECONDS = 3600
DAILY_WITH_SLACK_SECONDS = 26 * 3600
WEEKLY_WITH_SLACK_SECONDS = 8 * 86400

# Exposed by the Barman Cloud plugin; it replaces the in-core `cnpg_collector_*` backup metrics.
BACKUP_TIMESTAMP = "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"


def database_down(ns: str, cluster: str) -> Alert:
    """S1-08 `DatabaseConnectionFailure`, for every service with Postgres."""
    up = {"job": "postgres", "namespace": ns, "pod": f"{cluster}-1"}
    return Alert(
        "DatabaseConnectionFailure",
        f'up{{job="postgres",namespace="{ns}"}} == 0',
        "1m",
        "critical",
        "Database connection failure",
        "Cannot connect to PostgreSQL pod {{ $labels.pod }} in {{ $labels.namespace }}.",
        (
            Scenario({series("up", up): gauge(0)}, "5m", True, up),
            # Down for less than the `for` duration.
            Scenario({series("up", up): f"1x4 0x{SAMPLES}"}, "5m", False),
        ),
    )


def database_alerts(
    ns: str,
    cluster: str,
    rpo_seconds: int = RPO_SECONDS,
    backup_age_seconds: int = DAILY_WITH_SLACK_SECONDS,
    restore_check_age_seconds: int = WEEKLY_WITH_SLACK_SECONDS,
) -> list[Alert]:
    """Postgres reachable, backed up within the RPO, dumped daily, restorable and recoverable to a point in time
    (X-09, S3-11). Every threshold is a parameter; the scenarios fire just above it and stay silent below."""
    instances = f'namespace="{ns}",pod=~"{cluster}-[0-9]+"'
    instance = {"namespace": ns, "pod": f"{cluster}-1"}
    backup_ts = series("barman_cloud_cloudnative_pg_io_last_available_backup_timestamp", instance)
    archival = series("cnpg_pg_stat_archiver_seconds_since_last_archival", instance)
    # promtool's clock starts at 0 and evaluates at 20m: a backup taken at -T is T + 1200 s old.
    old, recent = backup_age_seconds + 6400, backup_age_seconds - 3600
    return [
        database_down(ns, cluster),
        Alert(
            "DatabaseBackupTooOld",
            f"time() - max by (namespace) ({BACKUP_TIMESTAMP}{{{instances}}})\n> {backup_age_seconds}",
            "15m",
            "warning",
            f"No recent base backup of {cluster}",
            f"The newest base backup of {cluster} is {{{{ $value | humanizeDuration }}}} old "
            f"(daily backups; alert after {backup_age_seconds // 3600} h).",
            (
                Scenario({backup_ts: gauge(-old)}, "20m", True, {"namespace": ns}, duration(old + 1200)),
                Scenario({backup_ts: gauge(-recent)}, "20m", False),
            ),
        ),
        Alert(
            "DatabaseWALArchivingBehind",
            f"min by (namespace) (cnpg_pg_stat_archiver_seconds_since_last_archival{{{instances}}}) > {rpo_seconds}",
            "5m",
            "critical",
            f"{cluster} is outside its recovery point objective",
            f"No WAL segment of {cluster} reached the backup store for {{{{ $value | humanizeDuration }}}}; "
            f"the recovery point objective is {rpo_seconds // 3600} h.",
            (
                Scenario(
                    {archival: gauge(rpo_seconds + 400)}, "10m", True, {"namespace": ns}, duration(rpo_seconds + 400)
                ),
                Scenario({archival: gauge(rpo_seconds - 600)}, "10m", False),
            ),
        ),
        *cronjob_alerts(
            ns,
            f"{cluster}-restore-check",
            "DatabaseRestoreCheck",
            f"Restore check of {cluster}",
            3,
            restore_check_age_seconds,
        ),
        *cronjob_alerts(
            ns, f"{cluster}-logical-dump", "DatabaseDump", f"Logical dump of {cluster}", 2, backup_age_seconds
        ),
        *cronjob_alerts(
            ns,
            drill_names(cluster).job,
            "DatabasePointInTimeDrill",
            f"Point-in-time restore drill of {cluster}",
            3,
            restore_check_age_seconds,
        ),
    ]


def database_row(ns: str, cluster: str, connections_target: float = 0.8) -> RowSpec:
    instances = f'namespace="{ns}",pod=~"{cluster}-[0-9]+"'
    return RowSpec(
        "PostgreSQL",
        (
            PanelSpec(
                "Connection utilisation",
                (
                    Query(
                        f"sum(cnpg_backends_total{{{instances}}})\n"
                        f'/ max(cnpg_pg_settings_setting{{{instances},name="max_connections"}})'
                    ),
                ),
                "percentunit",
                "stat",
                "Server connections in use out of max_connections (target below 80 %).",
                good_below(connections_target),
            ),
            PanelSpec(
                "Seconds since last WAL archival",
                (Query(f"min(cnpg_pg_stat_archiver_seconds_since_last_archival{{{instances}}})"),),
                "s",
                "stat",
                "Recovery point: must stay under 1 h.",
                good_below(RPO_SECONDS),
            ),
            PanelSpec(
                "Age of newest base backup",
                (Query(f"time() - max({BACKUP_TIMESTAMP}{{{instances}}})"),),
                "s",
                "stat",
                thresholds=good_below(DAILY_WITH_SLACK_SECONDS),
            ),
            PanelSpec(
                "Transactions per second",
                (
                    Query(
                        f"sum by (datname) (rate(cnpg_pg_stat_database_xact_commit{{{instances}}}[5m]))", "{{datname}}"
                    ),
                ),
                "ops",
            ),
            PanelSpec(
                "Database size",
                (Query(f"max by (datname) (cnpg_pg_database_size_bytes{{{instances}}})", "{{datname}}"),),
                "bytes",
            ),
            PanelSpec(
                "Replication lag",
                (Query(f"max by (pod) (cnpg_pg_replication_lag{{{instances}}})", "{{pod}}"),),
                "s",
            ),
        ),
    )
