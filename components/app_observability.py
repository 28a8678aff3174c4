"""What every app is watched with: reachability, memory and CPU against limits, volumes, HTTP errors and
latency, CronJobs that stop succeeding. Each alert comes with the promtool scenarios that prove it.

Conventions these rely on: an app's ServiceMonitor job is its Service name (AppDeployment's default; the
colours and the canary of one app count as its instances), and kube-state-metrics reports limits and CronJobs.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import at, counter, counter_stepping, days_hours, duration, gauge, series
from components.dashboards import PanelSpec, Query, RowSpec, good_below


def service_down(ns: str, app: str, for_minutes: int = 2) -> Alert:
    """Every instance of an app unreachable (colours and canary count as instances)."""
    jobs = f'job=~"{app}(-blue|-green|-canary)?"'
    pod_a = {"namespace": ns, "job": app, "pod": f"{app}-a"}
    pod_b = {"namespace": ns, "job": app, "pod": f"{app}-b"}
    elsewhere = {"namespace": "other", "job": app, "pod": f"{app}-a"}
    return Alert(
        "ServiceDown",
        f'max by (namespace) (up{{namespace="{ns}",{jobs}}}) == 0\nor absent(up{{namespace="{ns}",{jobs}}})',
        f"{for_minutes}m",
        "critical",
        f"{app} is unreachable",
        f"No instance of {app} in {{{{ $labels.namespace }}}} answers Prometheus' scrapes.",
        (
            Scenario(
                {series("up", pod_a): gauge(0), series("up", pod_b): gauge(0)},
                at(for_minutes),
                True,
                {"namespace": ns},
            ),
            # No target left at all (Deployment scaled to zero or deleted).
            Scenario({series("up", elsewhere): gauge(1)}, at(for_minutes), True, {"namespace": ns}),
            Scenario({series("up", pod_a): gauge(1), series("up", pod_b): gauge(0)}, at(for_minutes), False),
        ),
    )


def memory_of_limit(name: str, ns: str, threshold: float, summary: str, severity: str = "warning") -> Alert:
    """Container memory against its limit. The limit comes from kube-state-metrics: the chart drops
    cAdvisor's `container_spec_*` series that the manuals' expression divides by."""
    target = {"namespace": ns, "pod": f"{ns}-0", "container": "app"}
    limit = 4_000_000_000

    def using(usage_share: float) -> dict[str, str]:
        return {
            series("container_memory_usage_bytes", target): gauge(round(limit * usage_share)),
            series("kube_pod_container_resource_limits", {**target, "resource": "memory", "unit": "byte"}): gauge(
                limit
            ),
        }

    return Alert(
        name,
        of_limit("container_memory_usage_bytes", ns, "memory") + f"\n> {threshold:g}",
        "5m",
        severity,
        summary,
        "Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its "
        f"memory limit (alert above {threshold:.0%}).",
        (
            Scenario(using(threshold + 0.05), "10m", True, target, f"{(threshold + 0.05) * 100:g}%"),
            Scenario(using(threshold - 0.05), "10m", False),
        ),
    )


def of_limit(usage: str, ns: str, resource: str, usage_suffix: str = "") -> str:
    """Per-container usage divided by the container's limit from kube-state-metrics."""
    per_container = "sum by (namespace, pod, container)"
    return (
        f'{per_container} ({usage}{{namespace="{ns}",container!=""}}{usage_suffix})\n'
        f'/ {per_container} (kube_pod_container_resource_limits{{namespace="{ns}",resource="{resource}"}})'
    )


def volume_stats(ns: str, available: float, claim: str = "data") -> dict[str, str]:
    """A 100 GB volume of claim CLAIM with AVAILABLE bytes left (kubelet's stats, also for generic ephemeral
    volumes, whose claims are `<pod>-<volume>`)."""
    volume = {"namespace": ns, "persistentvolumeclaim": claim}
    return {
        series("kubelet_volume_stats_available_bytes", volume): gauge(available),
        series("kubelet_volume_stats_capacity_bytes", volume): gauge(100_000_000_000),
    }


def http_error_ratio(ns: str, window: str = "5m", metric: str = "http_requests_total") -> str:
    return (
        f'sum by (namespace) (rate({metric}{{namespace="{ns}",status=~"5.."}}[{window}]))\n'
        f'/ sum by (namespace) (rate({metric}{{namespace="{ns}"}}[{window}]))'
    )


def http_traffic(
    ns: str, errors_per_minute: float, ok_per_minute: float, metric: str = "http_requests_total"
) -> dict[str, str]:
    base = {"namespace": ns, "method": "GET", "endpoint": "/api"}
    return {
        series(metric, {**base, "status": "500"}): counter(errors_per_minute),
        series(metric, {**base, "status": "200"}): counter(ok_per_minute),
    }


def p95_latency(
    ns: str, threshold_seconds: float, for_: str = "10m", histogram: str = "http_request_duration_seconds"
) -> Alert:
    """The service's p95 request latency above its target."""
    p95 = f'histogram_quantile(0.95, sum by (namespace, le) (rate({histogram}_bucket{{namespace="{ns}"}}[5m])))'

    def buckets(counts: Mapping[str, float]) -> dict[str, str]:
        return {series(f"{histogram}_bucket", {"namespace": ns, "le": le}): counter(n) for le, n in counts.items()}

    slow = {"1": 0, f"{threshold_seconds:g}": 0, f"{threshold_seconds * 2:g}": 60, "+Inf": 60}
    fast = {"1": 0, f"{threshold_seconds:g}": 60, f"{threshold_seconds * 2:g}": 60, "+Inf": 60}
    return Alert(
        "HighLatency",
        f"{p95} > {threshold_seconds:g}",
        for_,
        "warning",
        f"p95 latency above {threshold_seconds:g} s",
        f'p95 request latency is {{{{ $value | printf "%.2f" }}}} s (target below {threshold_seconds:g} s).',
        (
            Scenario(buckets(slow), "15m", True, {"namespace": ns}, f"{threshold_seconds * 1.95:.2f}"),
            Scenario(buckets(fast), "15m", False),
        ),
    )


def rate_spike(
    name: str,
    ns: str,
    metric: str,
    matchers: str,
    sample: Mapping[str, str],
    what: str,
    min_per_second: float,
    factor: float = 3,
) -> Alert:
    """The 5-minute rate of METRIC{namespace=NS,MATCHERS} at FACTOR times its rate in the hour before and above
    MIN_PER_SECOND: a burst out of nothing counts, a steady rate however high does not. SAMPLE: labels of a series
    the matchers select (for the scenarios)."""
    selector = f'{metric}{{namespace="{ns}",{matchers}}}'
    now = f"sum by (namespace) (rate({selector}[5m]))"
    before = f"sum by (namespace) (rate({selector}[1h] offset 5m))"
    counted = series(metric, {"namespace": ns, **sample})
    burst = min_per_second * 60 * 3  # per minute, three times the floor
    return Alert(
        name,
        # A series new within the hour counts too: its rate over the hour before is its few samples over 3600 s.
        f"({now}\n> {factor:g} * {before}) > {min_per_second:g}",
        "5m",
        "warning",
        f"Spike of {what}",
        f'{what[0].upper()}{what[1:]}: {{{{ $value | printf "%.2f" }}}} per second, at least {factor:g} times the '
        f"hour before (alert above {min_per_second:g}/s).",
        (
            Scenario(
                {counted: counter_stepping(burst / 30, 60, burst)}, "75m", True, {"namespace": ns}, f"{burst / 60:.2f}"
            ),
            # Out of nothing: no series at all in the hour before.
            Scenario({counted: f"_x60 {counter(burst)}"}, "75m", True, {"namespace": ns}, f"{burst / 60:.2f}"),
            # A high but steady rate is no spike; a burst under the floor is noise.
            Scenario({counted: counter(burst)}, "75m", False),
            Scenario({counted: counter_stepping(0, 60, min_per_second * 30)}, "75m", False),
        ),
    )


def cronjob_alerts(
    ns: str, cronjob: str, prefix: str, what: str, max_runtime_hours: int, stale_seconds: int
) -> list[Alert]:
    """The latest run of a CronJob did not succeed, and its last success is older than its period allows."""
    selector = f'{{namespace="{ns}",cronjob="{cronjob}"}}'
    scheduled = f"kube_cronjob_status_last_schedule_time{selector}"
    succeeded = f"kube_cronjob_status_last_successful_time{selector}"
    labels = {"namespace": ns, "cronjob": cronjob}
    schedule = series("kube_cronjob_status_last_schedule_time", labels)
    success = series("kube_cronjob_status_last_successful_time", labels)
    at = f"{max_runtime_hours * 60 + 10}m"
    stale_days, stale_hours = divmod(stale_seconds // 3600, 24)
    failing = Alert(
        f"{prefix}Failing",
        f"({scheduled} > {succeeded})\nor ({scheduled} unless {succeeded})",
        f"{max_runtime_hours}h",
        "warning",
        f"{what} did not succeed",
        f"The latest run of CronJob {cronjob} in {{{{ $labels.namespace }}}} has not succeeded within "
        f"{max_runtime_hours} h of being scheduled.",
        (
            Scenario({schedule: gauge(1000), success: gauge(500)}, at, True, labels),
            Scenario({schedule: gauge(1000)}, at, True, labels),
            Scenario({schedule: gauge(1000), success: gauge(1200)}, at, False),
        ),
    )
    # promtool's clock starts at 0, so past timestamps are negative here.
    fires_ts, silent_ts = -(stale_seconds + 13_000 - 4200), -(stale_seconds - 7000 - 4200)
    stale = Alert(
        f"{prefix}Stale",
        f"time() - {succeeded} > {stale_seconds}",
        "1h",
        "warning",
        f"{what} has not succeeded for too long",
        f"CronJob {cronjob} in {{{{ $labels.namespace }}}} last succeeded {{{{ $value | humanizeDuration }}}} ago "
        f"(alert after {days_hours(stale_days, stale_hours)}).",
        (
            Scenario({success: gauge(fires_ts)}, "70m", True, labels, duration(stale_seconds + 13_000)),
            Scenario({success: gauge(silent_ts)}, "70m", False),
        ),
    )
    return [failing, stale]


def resources_row(ns: str) -> RowSpec:
    containers = f'namespace="{ns}",container!=""'
    return RowSpec(
        "Resources",
        (
            PanelSpec(
                "CPU by pod",
                (Query(f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{containers}}}[5m]))", "{{pod}}"),),
                "short",
            ),
            PanelSpec(
                "Memory by pod",
                (Query(f"sum by (pod) (container_memory_working_set_bytes{{{containers}}})", "{{pod}}"),),
                "bytes",
            ),
            PanelSpec(
                "Memory of limit",
                (
                    Query(
                        f"max by (pod) (sum by (pod, container) (container_memory_usage_bytes{{{containers}}})\n"
                        f"/ sum by (pod, container) "
                        f'(kube_pod_container_resource_limits{{namespace="{ns}",resource="memory"}}))',
                        "{{pod}}",
                    ),
                ),
                "percentunit",
                thresholds=good_below(0.8),
            ),
            PanelSpec(
                "Volume usage",
                (
                    Query(
                        f'1 - kubelet_volume_stats_available_bytes{{namespace="{ns}"}}\n'
                        f'/ kubelet_volume_stats_capacity_bytes{{namespace="{ns}"}}',
                        "{{persistentvolumeclaim}}",
                    ),
                ),
                "percentunit",
                thresholds=good_below(0.85),
            ),
            PanelSpec(
                "Container restarts (1 h)",
                (
                    Query(
                        f'sum by (pod) (increase(kube_pod_container_status_restarts_total{{namespace="{ns}"}}[1h]))',
                        "{{pod}}",
                    ),
                ),
                width=24,
            ),
        ),
    )


def http_row(
    ns: str, p95_target: float, metric: str = "http_requests_total", histogram: str = "http_request_duration_seconds"
) -> RowSpec:
    selector = f'namespace="{ns}"'
    return RowSpec(
        "Requests",
        (
            PanelSpec(
                "Requests per second by status",
                (Query(f"sum by (status) (rate({metric}{{{selector}}}[5m]))", "{{status}}"),),
                "reqps",
            ),
            PanelSpec(
                "Latency",
                tuple(
                    Query(
                        f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{{{selector}}}[5m])))",
                        f"p{q * 100:g}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ),
                "s",
                thresholds=good_below(p95_target),
            ),
            PanelSpec(
                "5xx ratio",
                (Query(http_error_ratio(ns, metric=metric)),),
                "percentunit",
                thresholds=good_below(0.001),
            ),
            PanelSpec(
                "5xx by endpoint",
                (Query(f'sum by (endpoint) (rate({metric}{{{selector},status=~"5.."}}[5m]))', "{{endpoint}}"),),
                "reqps",
            ),
        ),
    )
