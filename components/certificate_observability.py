"""What the certificates of PublicRoute's hosts are watched with: expiry (X-15; manuals 001 "verify certificate
status", 003 "verify SSL certificates expiry"). The threshold is a parameter with the platform's default.

Conventions this relies on: cert-manager exports `certmanager_certificate_expiration_timestamp_seconds{name}` (its
chart's ServiceMonitor keeps the Certificate's namespace as `exported_namespace`), and PublicRoute names each
host's Certificate after the host (`api.example.com` -> `api-example-com`), so a host label selects its
certificate in every stack whatever the domain.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import duration, gauge, series
from components.validation import dns_slug

EXPIRY = "certmanager_certificate_expiration_timestamp_seconds"
# cert-manager renews a Let's Encrypt certificate (90 days) 30 days before it expires: two weeks left means renewal
# has been failing for more than two weeks.
WARN_DAYS = 14


def certificate_expiry(host_labels: Sequence[str], warn_days: int = WARN_DAYS) -> Alert:
    """A certificate of the hosts HOST_LABELS (`<label>.<domain>`) expires within WARN_DAYS."""
    pattern = "|".join(dns_slug(label) for label in host_labels)
    selector = f'name=~"({pattern})-.+"'
    threshold = warn_days * 86400
    ours = {"name": f"{dns_slug(host_labels[0])}-ai-example-com", "exported_namespace": "public-gateway"}
    another_teams = {"name": "billing-example-com", "exported_namespace": "billing"}
    # promtool's clock starts at 0 and evaluates at 70m (4200 s): a certificate expiring at T has T - 4200 s left.
    soon, later = threshold - 86400, threshold + 86400
    return Alert(
        "CertificateExpiringSoon",
        f"{EXPIRY}{{{selector}}} - time() < {threshold}",
        "1h",
        "warning",
        "Certificate {{ $labels.name }} expires soon",
        "Certificate {{ $labels.name }} in {{ $labels.exported_namespace }} expires in "
        f"{{{{ $value | humanizeDuration }}}} (alert under {warn_days} days; cert-manager renews 30 days ahead, so "
        "renewal is failing): `kubectl describe certificate {{ $labels.name }} -n {{ $labels.exported_namespace }}` "
        "and its ACME order.",
        (
            Scenario({series(EXPIRY, ours): gauge(soon)}, "70m", True, ours, duration(soon - 4200)),
            Scenario({series(EXPIRY, ours): gauge(later)}, "70m", False),
            # Another team's certificate is theirs to watch.
            Scenario({series(EXPIRY, another_teams): gauge(86400)}, "70m", False),
        ),
    )
