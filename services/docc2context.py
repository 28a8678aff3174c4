"""DocC2Context Service [002-docc2context-operations-guide.md]: S2-01, S2-02, S2-08."""

from collections.abc import Mapping

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import counter, gauge, series
from components.app_deployment import Autoscaling, Resources
from components.app_observability import (
    http_error_ratio,
    http_row,
    http_traffic,
    memory_of_limit,
    of_limit,
    p95_latency,
    rate_spike,
    resources_row,
    service_down,
    volume_stats,
)
from components.app_volumes import WritableDir
from components.dashboards import DashboardSpec, PanelSpec, Query, RowSpec, good_above, good_below
from components.redis_observability import redis_down, redis_row
from services.conventions import API_PATHS, CACHE_URL, HTTP_PROBES, redis_1gb
from services.spec import AppSpec, Observability, ServiceSpec, VolumeSpec

NAME = "docc2context"
API = "docc2context-api"
SCRATCH_CLAIM = f"{API}-5f7b9c8d4-x2k8q-scratch"
"""How a scratch volume's claim is named: `<pod>-scratch` (generic ephemeral volume)."""


def _observability() -> Observability:
    ns = NAME
    target = {"namespace": ns, "pod": f"{ns}-0", "container": "app"}

    def cpu(cores_per_minute: float) -> dict[str, str]:
        return {
            series("container_cpu_usage_seconds_total", target): counter(cores_per_minute),
            series("kube_pod_container_resource_limits", {**target, "resource": "cpu", "unit": "core"}): gauge(2),
        }

    def extractions(outcomes: Mapping[str, float]) -> dict[str, str]:
        return {
            series("zip_extractions_total", {"namespace": ns, "status": status}): counter(n)
            for status, n in outcomes.items()
        }

    too_many = {"namespace": ns, "method": "POST", "endpoint": "/api/v1/convert", "status": "429"}
    alerts = (
        # S2-06. The manual names only `http_requests_total`; the extraction counter is the service's own
        # `zip_extractions_total{status=success|failed_validation|failed_extraction}`.
        Alert(
            "HighErrorRate",
            http_error_ratio(ns) + " > 0.1",
            "5m",
            "critical",
            "More than 10 % of DocC2Context requests fail",
            "{{ $value | humanizePercentage }} of requests return 5xx (alert above 10 %, target below 0.1 %).",
            (
                Scenario(http_traffic(ns, 12, 48), "10m", True, {"namespace": ns}, "20%"),
                Scenario(http_traffic(ns, 5, 55), "10m", False),
            ),
        ),
        Alert(
            "ExtractionFailures",
            f'sum by (namespace) (rate(zip_extractions_total{{namespace="{ns}",status!="success"}}[5m]))\n'
            f'/ sum by (namespace) (rate(zip_extractions_total{{namespace="{ns}"}}[5m])) > 0.2',
            "5m",
            "warning",
            "More than 20 % of conversions fail",
            "{{ $value | humanizePercentage }} of ZIP extractions fail (alert above 20 %, target below 5 %). "
            "Check file validation and disk space.",
            (
                Scenario(
                    extractions({"success": 6, "failed_extraction": 3, "failed_validation": 1}),
                    "10m",
                    True,
                    {"namespace": ns},
                    "40%",
                ),
                Scenario(extractions({"success": 9, "failed_extraction": 1}), "10m", False),
            ),
        ),
        memory_of_limit("MemoryExhaustion", ns, 0.8, "Memory above 80 % of the limit"),
        Alert(
            "CPUExhaustion",
            of_limit("rate(container_cpu_usage_seconds_total", ns, "cpu", "[5m])") + "\n> 0.75",
            "10m",
            "warning",
            "CPU above 75 % of the limit, sustained",
            "Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its CPU "
            "limit for 10 minutes: scale out or look for slow operations.",
            (
                Scenario(cpu(96), "15m", True, target, "80%"),
                Scenario(cpu(84), "15m", False),
            ),
        ),
        service_down(ns, API, for_minutes=1),
        Alert(
            "RateLimitTriggered",
            # Rate-limited requests are answered 429.
            f'sum by (namespace) (increase(http_requests_total{{namespace="{ns}",status="429"}}[1h])) > 10',
            "0m",
            "warning",
            "Rate limit triggered more than 10 times in an hour",
            '{{ $value | printf "%.0f" }} requests were rate limited in the last hour (alert above 10).',
            (
                Scenario({series("http_requests_total", too_many): counter(1)}, "65m", True, {"namespace": ns}, "60"),
                Scenario({series("http_requests_total", too_many): counter(0.15)}, "65m", False),
            ),
        ),
        Alert(
            "DiskSpaceHigh",
            f'1 - kubelet_volume_stats_available_bytes{{namespace="{ns}"}}\n'
            f'/ kubelet_volume_stats_capacity_bytes{{namespace="{ns}"}} > 0.85',
            "5m",
            "warning",
            "Disk usage above 85 %",
            "Volume {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full (alert above 85 %).",
            (
                Scenario(
                    volume_stats(ns, 10_000_000_000),
                    "10m",
                    True,
                    {"namespace": ns, "persistentvolumeclaim": "data"},
                    "90%",
                ),
                # The scratch volumes are generic ephemeral volumes: claims `<pod>-scratch`, watched alike (S2-02).
                Scenario(
                    volume_stats(ns, 5_000_000_000, SCRATCH_CLAIM),
                    "10m",
                    True,
                    {"namespace": ns, "persistentvolumeclaim": SCRATCH_CLAIM},
                    "95%",
                ),
                Scenario(volume_stats(ns, 20_000_000_000), "10m", False),
            ),
        ),
        redis_down(ns),
        # S2-07: p95 under 2 s; manual 002 "Security": alert on spikes of 4xx responses and of failed validations.
        p95_latency(ns, 2),
        rate_spike(
            "ClientErrorSpike",
            ns,
            "http_requests_total",
            'status=~"4..",status!="429"',
            {"method": "POST", "endpoint": "/api/v1/convert", "status": "400"},
            "4xx responses (429 has RateLimitTriggered)",
            0.1,
        ),
        rate_spike(
            "ValidationFailureSpike",
            ns,
            "zip_extractions_total",
            'status="failed_validation"',
            {"status": "failed_validation"},
            "failed file validations",
            0.05,
        ),
    )
    selector = f'namespace="{ns}"'
    success_ratio = (
        f'sum(rate(zip_extractions_total{{{selector},status="success"}}[1h]))\n'
        f"/ sum(rate(zip_extractions_total{{{selector}}}[1h]))"
    )
    targets = RowSpec(
        "Targets (S2-07)",
        (
            PanelSpec(
                "Uptime (30 d)",
                (Query(f'avg(avg_over_time(up{{{selector},job="{API}"}}[30d]))'),),
                "percentunit",
                "stat",
                "Target 99.9 %.",
                good_above(0.999),
                width=6,
            ),
            PanelSpec(
                "p95 response time",
                (
                    Query(
                        f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
                        f"{{{selector}}}[5m])))"
                    ),
                ),
                "s",
                "stat",
                "Target below 2 s.",
                good_below(2),
                width=6,
            ),
            PanelSpec(
                "Error rate",
                (Query(http_error_ratio(ns)),),
                "percentunit",
                "stat",
                "Target below 0.1 %.",
                good_below(0.001),
                width=6,
            ),
            PanelSpec(
                "Extraction success",
                (Query(success_ratio),),
                "percentunit",
                "stat",
                "Target above 95 %.",
                good_above(0.95),
                width=6,
            ),
        ),
    )
    conversions = RowSpec(
        "Conversions",
        (
            PanelSpec(
                "Extractions per minute by outcome",
                (Query(f"sum by (status) (rate(zip_extractions_total{{{selector}}}[5m])) * 60", "{{status}}"),),
            ),
            PanelSpec(
                "Extraction p95",
                (
                    Query(
                        f"histogram_quantile(0.95, sum by (le) (rate(zip_extraction_duration_seconds_bucket"
                        f"{{{selector}}}[5m])))"
                    ),
                ),
                "s",
            ),
            PanelSpec("Active conversions", (Query(f"sum(active_conversions{{{selector}}})"),)),
            PanelSpec(
                "Conversion errors by type",
                (
                    Query(
                        f"sum by (error_type) (rate(conversion_errors_total{{{selector}}}[5m])) * 60", "{{error_type}}"
                    ),
                ),
            ),
            PanelSpec(
                "Rate-limited requests (1 h)",
                (Query(f'sum(increase(http_requests_total{{{selector},status="429"}}[1h]))'),),
                "short",
                "stat",
                "Alert above 10 an hour.",
                good_below(10),
                width=24,
            ),
        ),
    )
    dashboards = (
        DashboardSpec(
            "docc2context-overview",
            "DocC2Context / Service",
            (targets, http_row(ns, 2), conversions, resources_row(ns), redis_row(ns)),
            "Availability, performance and conversion targets (S2-06, S2-07).",
            ("docc2context",),
        ),
    )
    return Observability(alerts, dashboards)


SERVICE = ServiceSpec(
    observability=_observability(),
    name=NAME,
    manual="002-docc2context-operations-guide.md",
    namespaces=(NAME,),
    # S2-03: Redis for cache and rate limiting with 1 Gi of memory; no Postgres.
    cache=redis_1gb(NAME),
    apps=(
        AppSpec(
            name=API,
            namespace=NAME,
            image_repository=NAME,
            port=8000,
            probes=HTTP_PROBES,
            # S2-01: per instance 2 CPU / 2 Gi limits, 1 CPU / 1 Gi requests.
            resources=Resources({"cpu": "1", "memory": "1Gi"}, {"cpu": "2", "memory": "2Gi"}),
            # S2-08: scale out when CPU > 75 % for 10 minutes or memory > 80 %.
            autoscaling=Autoscaling(min_replicas=2, max_replicas=6, scale_up_stabilization_seconds=600),
            # S2-02: 50 Gi per instance for temporary workspaces, not kept across restarts, as /tmp: the manual's
            # daily check wants more than 10 GB free there (`df -h /tmp`). A node's root disk (EKS: 20 GiB) cannot
            # hold it, so each pod gets a volume of its own, created and deleted with it. Its log files stay on the
            # node, where the log follower ships them from.
            volume=VolumeSpec("scratch", "/tmp", "50Gi", shared=False),
            writable_dirs=(WritableDir("/app/logs", "5Gi", logs=True),),
            secret_env={"REDIS_URL": CACHE_URL},
            public=True,
            public_paths=API_PATHS,  # the conversion API
        ),
    ),
)
