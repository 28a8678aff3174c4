"""What the monitoring stack's own data is watched with: its off-cluster copy (S3-11, Prometheus RPO 24 h). The
threshold is a parameter with the platform's default.

Convention this relies on (MonitoringStack with a MetricsCopy keeps it): the Thanos sidecar is scraped in the
stack's namespace and exports the time of its last successful upload. Without a copy (the cluster team's
monitoring) the series does not exist and the alert stays silent.
"""

from __future__ import annotations

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import duration, gauge, series

LAST_UPLOAD = "thanos_objstore_bucket_last_successful_upload_time"
# Blocks are cut every 2 hours: six hours without an upload leaves 18 hours to mend it within the 24 h RPO.
MAX_AGE_SECONDS = 6 * 3600


def metrics_copy_stale(ns: str, max_age_seconds: int = MAX_AGE_SECONDS) -> Alert:
    """No Prometheus block has reached the bucket for MAX_AGE_SECONDS."""
    sidecar = {"namespace": ns, "pod": "prometheus-0", "bucket": "backups"}
    # promtool's clock starts at 0 and evaluates at 20m: an upload at -T is T + 1200 s old.
    old, recent = max_age_seconds + 3600, max_age_seconds - 3600
    return Alert(
        "PrometheusCopyStale",
        f'time() - max by (namespace) ({LAST_UPLOAD}{{namespace="{ns}"}}) > {max_age_seconds}',
        "15m",
        "warning",
        "Prometheus data is not being copied off the cluster",
        "The newest Prometheus block in the backup bucket is {{ $value | humanizeDuration }} old (blocks every "
        f"2 h; alert after {max_age_seconds // 3600} h, RPO 24 h): check the Thanos sidecar's logs in the "
        "Prometheus pod and its role's access to the bucket.",
        (
            Scenario({series(LAST_UPLOAD, sidecar): gauge(-old)}, "20m", True, {"namespace": ns}, duration(old + 1200)),
            Scenario({series(LAST_UPLOAD, sidecar): gauge(-recent)}, "20m", False),
        ),
    )
