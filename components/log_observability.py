"""What a LogStack and its LogShipper are watched with (S2-04, S2-05): cluster health, the daily snapshot, the disk
watermarks, the metrics themselves, a shipper that stops delivering or is missing on a node, the restore check;
and their dashboard. Thresholds are parameters with the platform's defaults.

Conventions these rely on (the components keep them): the exporter's ServiceMonitor sets `job="elasticsearch"`,
the snapshot repository is `backup`, the shipper is DaemonSet `fluent-bit` exporting Fluent Bit's own metrics,
and the restore check is CronJob `elasticsearch-restore-check`.
"""

from __future__ import annotations

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import SAMPLES, counter, gauge, series
from components.app_observability import cronjob_alerts, resources_row
from components.dashboards import DashboardSpec, PanelSpec, Query, RowSpec, good_below
from components.elasticsearch_exporter import EXPORTER, EXPORTER_JOB
from components.log_shipper import NAME as SHIPPER
from components.log_snapshots import RESTORE_CHECK, SNAPSHOT_REPOSITORY
from components.log_stack import ELASTICSEARCH

DAILY_WITH_SLACK_SECONDS = 26 * 3600
"""A daily snapshot (and restore check) plus slack."""
# Elasticsearch's default disk watermarks: above `low` no shard is allocated to the node, above `high` shards
# move away from it, at 95 % (flood stage) its indices turn read-only.
DISK_LOW_WATERMARK = 0.85
DISK_HIGH_WATERMARK = 0.90

_HEALTH = "elasticsearch_cluster_health_status"
_LATEST_SNAPSHOT = "elasticsearch_snapshot_stats_latest_snapshot_timestamp_seconds"
_READ = "fluentbit_input_records_total"
_SENT = "fluentbit_output_proc_records_total"


def disk_used(ns: str) -> str:
    """Share of each node's data volume in use."""
    return (
        f'1 - elasticsearch_filesystem_data_available_bytes{{namespace="{ns}"}}\n'
        f'/ elasticsearch_filesystem_data_size_bytes{{namespace="{ns}"}}'
    )


def log_stack_alerts(ns: str, shipper_ns: str, snapshot_age_seconds: int = DAILY_WITH_SLACK_SECONDS) -> list[Alert]:
    """Every alert of the log stack in NS and its shipper in SHIPPER_NS, each with a firing and a silent scenario."""
    return [
        *_health_alerts(ns),
        _snapshot_missing(ns, snapshot_age_seconds),
        *_disk_alerts(ns),
        _metrics_down(ns),
        *_shipper_alerts(shipper_ns),
        *cronjob_alerts(
            ns,
            RESTORE_CHECK,
            "ElasticsearchRestoreCheck",
            "The Elasticsearch snapshot restore check",
            1,
            snapshot_age_seconds,
        ),
    ]


def _health_alerts(ns: str) -> list[Alert]:
    cluster = {"namespace": ns, "cluster": ELASTICSEARCH}

    def health(color: str, values: str) -> dict[str, str]:
        return {series(_HEALTH, {**cluster, "color": color}): values}

    return [
        Alert(
            "ElasticsearchClusterRed",
            f'max by (namespace, cluster) ({_HEALTH}{{namespace="{ns}",color="red"}}) == 1',
            "5m",
            "critical",
            "Elasticsearch cluster is red",
            "A primary shard of {{ $labels.cluster }} is unassigned: some logs cannot be written or searched.",
            (
                Scenario(health("red", gauge(1)), "10m", True, cluster),
                Scenario(health("red", gauge(0)), "10m", False),
            ),
        ),
        Alert(
            "ElasticsearchClusterYellow",
            f'max by (namespace, cluster) ({_HEALTH}{{namespace="{ns}",color="yellow"}}) == 1',
            "30m",
            "warning",
            "Elasticsearch cluster is yellow",
            "A replica shard of {{ $labels.cluster }} is unassigned for 30 minutes: one more node lost loses data.",
            (
                Scenario(health("yellow", gauge(1)), "35m", True, cluster),
                # Yellow while a node restarts, green again before the `for` elapses.
                Scenario(health("yellow", f"1x20 0x{SAMPLES}"), "35m", False),
            ),
        ),
    ]


def _snapshot_missing(ns: str, age_seconds: int) -> Alert:
    snapshot = {"namespace": ns, "repository": SNAPSHOT_REPOSITORY}
    latest = series(_LATEST_SNAPSHOT, snapshot)
    return Alert(
        "ElasticsearchSnapshotMissing",
        f"time() - max by (namespace, repository) "
        f'({_LATEST_SNAPSHOT}{{namespace="{ns}",repository="{SNAPSHOT_REPOSITORY}"}})'
        f" > {age_seconds}",
        "15m",
        "warning",
        "No daily Elasticsearch snapshot",
        f"The newest successful snapshot in repository {{{{ $labels.repository }}}} is older than "
        f"{age_seconds // 3600} h (S2-05).",
        (
            # promtool's clock starts at 0, so past timestamps are negative here.
            Scenario({latest: gauge(-(age_seconds + 10_000))}, "20m", True, snapshot),
            Scenario({latest: gauge(-(age_seconds - 10_000))}, "20m", False),
        ),
    )


def _disk_alerts(ns: str) -> list[Alert]:
    node = {"namespace": ns, "name": f"{ELASTICSEARCH}-es-default-0"}

    def disk(used_share: float) -> dict[str, str]:
        size = 100_000_000_000
        return {
            series("elasticsearch_filesystem_data_available_bytes", node): gauge(round(size * (1 - used_share))),
            series("elasticsearch_filesystem_data_size_bytes", node): gauge(size),
        }

    return [
        Alert(
            "ElasticsearchDiskLowWatermark",
            f"{disk_used(ns)} > {DISK_LOW_WATERMARK}",
            "10m",
            "warning",
            "Elasticsearch node past the low disk watermark",
            "{{ $labels.name }} uses more than 85 % of its data volume: no new shard is allocated to it. "
            "Grow logging.storageSize or shorten logging.retentionDays.",
            (Scenario(disk(0.87), "15m", True, node), Scenario(disk(0.80), "15m", False)),
        ),
        Alert(
            "ElasticsearchDiskHighWatermark",
            f"{disk_used(ns)} > {DISK_HIGH_WATERMARK}",
            "5m",
            "critical",
            "Elasticsearch node past the high disk watermark",
            "{{ $labels.name }} uses more than 90 % of its data volume: shards move away, and at 95 % its indices "
            "turn read-only and logs are no longer written.",
            (Scenario(disk(0.92), "10m", True, node), Scenario(disk(0.87), "10m", False)),
        ),
    ]


def _metrics_down(ns: str) -> Alert:
    exporter = {"namespace": ns, "job": EXPORTER_JOB}
    up = series("up", {**exporter, "pod": f"{EXPORTER}-5d8f9"})
    return Alert(
        "ElasticsearchMetricsDown",
        f'max by (namespace, job) (up{{namespace="{ns}",job="{EXPORTER_JOB}"}}) == 0\n'
        f'or absent(up{{namespace="{ns}",job="{EXPORTER_JOB}"}})',
        "10m",
        "warning",
        "Elasticsearch metrics are missing",
        "The Elasticsearch exporter in {{ $labels.namespace }} is not scraped: health, disk and snapshot "
        "alerts cannot fire.",
        (
            Scenario({up: gauge(0)}, "15m", True, exporter),
            Scenario({series("up", {"namespace": "other", "job": "x"}): gauge(1)}, "15m", True, exporter),
            Scenario({up: gauge(1)}, "15m", False),
        ),
    )


def _shipper_alerts(ns: str) -> list[Alert]:
    pod = {"namespace": ns, "pod": f"{SHIPPER}-7x2kq"}

    def records(read: float, sent: float) -> dict[str, str]:
        return {
            series(_READ, {**pod, "name": "tail.0"}): counter(read),
            series(_SENT, {**pod, "name": "es.0"}): counter(sent),
        }

    daemonset = {"namespace": ns, "daemonset": SHIPPER}
    unavailable = series("kube_daemonset_status_number_unavailable", daemonset)
    return [
        Alert(
            "LogShipperNotSending",
            f'sum by (namespace, pod) (rate({_READ}{{namespace="{ns}"}}[10m])) > 0\n'
            f'and sum by (namespace, pod) (rate({_SENT}{{namespace="{ns}"}}[10m])) == 0',
            "15m",
            "warning",
            "A log shipper stopped sending",
            "{{ $labels.pod }} reads log lines but has delivered none to Elasticsearch for 15 minutes; they are "
            "buffered on its node's disk until it does.",
            (Scenario(records(600, 0), "30m", True, pod), Scenario(records(600, 600), "30m", False)),
        ),
        Alert(
            "LogShipperUnavailable",
            f'kube_daemonset_status_number_unavailable{{namespace="{ns}",daemonset="{SHIPPER}"}} > 0',
            "15m",
            "warning",
            "Log shipper missing on some nodes",
            "{{ $value }} node(s) have no running fluent-bit pod: their logs are not shipped.",
            (
                Scenario({unavailable: gauge(1)}, "20m", True, daemonset, "1"),
                Scenario({unavailable: gauge(0)}, "20m", False),
            ),
        ),
    ]


def log_stack_dashboard(ns: str, shipper_ns: str) -> DashboardSpec:
    """Elasticsearch health, disk and snapshots; Fluent Bit delivery; the log stack's resources."""
    return DashboardSpec(
        "logging-elasticsearch",
        "Logging / Elasticsearch and log shipping",
        (_elasticsearch_row(ns), _shipping_row(shipper_ns), resources_row(ns)),
        "Elasticsearch health, disk and snapshots; Fluent Bit delivery (S2-04, S2-05).",
        ("logging",),
    )


def _elasticsearch_row(ns: str) -> RowSpec:
    return RowSpec(
        "Elasticsearch",
        (
            PanelSpec(
                "Cluster health (0 green, 1 yellow, 2 red)",
                (
                    Query(
                        f'max({_HEALTH}{{namespace="{ns}",color="yellow"}})'
                        f' + 2 * max({_HEALTH}{{namespace="{ns}",color="red"}})'
                    ),
                ),
                kind="stat",
                thresholds=good_below(1),
                width=8,
            ),
            PanelSpec(
                "Nodes",
                (Query(f'max(elasticsearch_cluster_health_number_of_nodes{{namespace="{ns}"}})'),),
                kind="stat",
                width=8,
            ),
            PanelSpec(
                "Hours since the newest snapshot",
                (
                    Query(
                        f'(time() - max({_LATEST_SNAPSHOT}{{namespace="{ns}",repository="{SNAPSHOT_REPOSITORY}"}}))'
                        " / 3600"
                    ),
                ),
                kind="stat",
                thresholds=good_below(DAILY_WITH_SLACK_SECONDS // 3600),
                width=8,
            ),
            PanelSpec(
                "Data volume used",
                (Query(disk_used(ns), "{{name}}"),),
                "percentunit",
                thresholds=good_below(DISK_LOW_WATERMARK),
            ),
            PanelSpec(
                "Documents indexed per second",
                (
                    Query(
                        f'sum by (name) (rate(elasticsearch_indices_indexing_index_total{{namespace="{ns}"}}[5m]))',
                        "{{name}}",
                    ),
                ),
            ),
        ),
    )


def _shipping_row(ns: str) -> RowSpec:
    return RowSpec(
        "Log shipping",
        (
            PanelSpec(
                "Records read per second",
                (Query(f'sum by (pod) (rate({_READ}{{namespace="{ns}"}}[5m]))', "{{pod}}"),),
            ),
            PanelSpec(
                "Records delivered per second",
                (Query(f'sum by (pod) (rate({_SENT}{{namespace="{ns}"}}[5m]))', "{{pod}}"),),
            ),
            PanelSpec(
                "Retries and failed deliveries per minute",
                (
                    Query(
                        f'sum by (pod) (rate(fluentbit_output_retries_total{{namespace="{ns}"}}[5m])) * 60',
                        "retries {{pod}}",
                    ),
                    Query(
                        f'sum by (pod) (rate(fluentbit_output_retries_failed_total{{namespace="{ns}"}}[5m])) * 60',
                        "failed {{pod}}",
                    ),
                ),
                width=24,
            ),
        ),
    )
