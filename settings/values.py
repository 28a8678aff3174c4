"""What each config value may be: the rules of Kubernetes, AWS and the tools behind the keys, as pydantic types.

Each check raises `must be <what is allowed>`; `settings.errors.describe` adds the key path and what was given
(never a secret). Sizes are checked for sense, not only for syntax: memory is never in millibytes, CPU never
carries a byte suffix, nothing is zero, nothing exceeds the largest machine or volume AWS offers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

import pulumi_aws
from pydantic import AfterValidator, Field

from components import quantity
from components.backup_bucket import BACKUP_WINDOW_DAYS
from components.validation import DNS_LABEL, DNS_NAME


def check(test: Callable[[str], bool], allowed: str) -> AfterValidator:
    """A value check: TEST says whether a value is fine; ALLOWED says what is."""

    def validate(value: str) -> str:
        if not test(value):
            raise ValueError(f"must be {allowed}")
        return value

    return AfterValidator(validate)


def matches(pattern: str | re.Pattern[str], allowed: str) -> AfterValidator:
    compiled = re.compile(pattern)
    return check(lambda value: compiled.fullmatch(value) is not None, allowed)


# --- Kubernetes quantities ---------------------------------------------------------------------------

_CORES = frozenset({None, "m"})
_BYTES = frozenset({None, "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"})


@dataclass(frozen=True)
class Amount:
    """A kind of quantity: which suffixes make sense for it and the range that does."""

    what: str
    suffixes: frozenset[str | None]
    low: str
    high: str
    why_high: str

    def __call__(self, text: str) -> str:
        match = quantity.QUANTITY_PATTERN.fullmatch(text)
        if match is None:
            raise ValueError(f"must be {self.what}")
        if match["suffix"] not in self.suffixes:
            raise ValueError(f"must be {self.what}{_suffix_hint(match['suffix'])}")
        if not quantity.parse(self.low) <= quantity.parse(text) <= quantity.parse(self.high):
            raise ValueError(f"must be {self.what}, from {self.low} to {self.high} ({self.why_high})")
        return text


def _suffix_hint(suffix: str | None) -> str:
    if suffix == "m":
        return " ('m' is milli: 512m is half a byte; write 512Mi)"
    if suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"):
        return f" ({suffix} is a byte suffix, for memory and storage)"
    return f" ({suffix} multiplies by powers of ten; cores are whole numbers or millicores)"


CPU = Amount("CPU in cores or millicores, like 500m or 2", _CORES, "1m", "192", "the most vCPUs of one EC2 instance")
MEMORY = Amount("memory in bytes with a suffix, like 512Mi or 4Gi", _BYTES, "16Mi", "1Ti", "what one pod may hold")
STORAGE = Amount("a volume size like 10Gi", _BYTES, "1Gi", "16Ti", "the sizes of an EBS gp3 volume")
QUOTA_CPU = Amount("CPU in cores or millicores, like 8 or 8500m", _CORES, "1m", "10000", "a whole cluster's worth")
QUOTA_MEMORY = Amount("memory in bytes with a suffix, like 16Gi", _BYTES, "16Mi", "64Ti", "a whole cluster's worth")
QUOTA_STORAGE = Amount("a total volume size like 500Gi", _BYTES, "1Gi", "1000Ti", "a whole cluster's worth")

ELASTICSEARCH_MEMORY = Amount(
    "memory in bytes with a suffix, like 4Gi",
    _BYTES,
    "2Gi",
    "48Gi",
    "half of it is the JVM heap: at least 1 GiB; at most 24 GiB keeps compressed object pointers",
)

Cpu = Annotated[str, AfterValidator(CPU)]
Memory = Annotated[str, AfterValidator(MEMORY)]
Storage = Annotated[str, AfterValidator(STORAGE)]
QuotaCpu = Annotated[str, AfterValidator(QUOTA_CPU)]
QuotaMemory = Annotated[str, AfterValidator(QUOTA_MEMORY)]
QuotaStorage = Annotated[str, AfterValidator(QUOTA_STORAGE)]
ElasticsearchMemory = Annotated[str, AfterValidator(ELASTICSEARCH_MEMORY)]


# --- names the API server and AWS accept ---------------------------------------------------------

_DNS_SUBDOMAIN = rf"(?=.{{1,253}}$){DNS_LABEL}(\.{DNS_LABEL})*"
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"

DnsName = Annotated[str, check(lambda v: DNS_NAME.fullmatch(v) is not None, "a lower-case DNS name like example.com")]
ObjectName = Annotated[str, matches(DNS_LABEL, "a lower-case DNS label (letters, digits, '-', at most 63)")]
StorageClassName = Annotated[
    str, matches(_DNS_SUBDOMAIN, "a StorageClass name: lower-case letters, digits, '-' and '.', at most 253")
]
LabelKey = Annotated[
    str,
    matches(
        rf"({_DNS_SUBDOMAIN}/)?{_LABEL_NAME}",
        "a Kubernetes label key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_', '.' "
        "starting and ending with a letter or digit",
    ),
]
LabelValue = Annotated[
    str,
    matches(
        f"({_LABEL_NAME})?",
        "a Kubernetes label value: at most 63 letters, digits, '-', '_', '.', starting and ending with a letter "
        "or digit",
    ),
]
EnvName = Annotated[str, matches(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")]
Email = Annotated[str, matches(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address")]

REGIONS = frozenset(region.value for region in pulumi_aws.Region)
"""The regions the AWS provider knows."""
Region = Annotated[
    str, check(lambda v: v in REGIONS, "an AWS region the AWS provider knows, like eu-west-1 or eu-central-1")
]

_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """What S3 (or HTTPS to it) would refuse about NAME, or None."""
    try:
        ipaddress.ip_address(name)
        return "an S3 bucket name, not an IP address"
    except ValueError:
        pass
    if "." in name:
        # Virtual-hosted HTTPS (barman-cloud, the AWS CLI) fails on a dotted name: the certificate is *.s3.
        return "an S3 bucket name without dots (a dotted name breaks HTTPS to the bucket)"
    if not 3 <= len(name) <= 63:
        return "an S3 bucket name of 3 to 63 characters"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", name):
        return "an S3 bucket name: lower-case letters, digits and '-', starting and ending with a letter or digit"
    if name.startswith(_RESERVED_BUCKET_PREFIXES) or name.endswith(_RESERVED_BUCKET_SUFFIXES):
        return f"an S3 bucket name without AWS's reserved prefixes {_RESERVED_BUCKET_PREFIXES} and suffixes"
    return None


def _bucket_name(value: str) -> str:
    problem = bucket_name_problem(value)
    if problem:
        raise ValueError(f"must be {problem}")
    return value


BucketName = Annotated[str, AfterValidator(_bucket_name)]


# --- addresses -------------------------------------------------------------------------------------


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return DNS_NAME.fullmatch(host.lower()) is not None


def https_url(*, query: bool = True) -> AfterValidator:
    """An https:// URL with a host (and a valid port), no spaces and no credentials in it."""

    def validate(value: str) -> str:
        allowed = "an https:// URL with a host, like https://host.example.com/path" + ("" if query else ", no ?query")
        if any(c.isspace() for c in value):
            raise ValueError(f"must be {allowed} (no spaces: encode them as %20)")
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or not _is_host(parts.hostname):
            raise ValueError(f"must be {allowed}")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0 and ":" in parts.netloc.rsplit("]", 1)[-1]:
            raise ValueError(f"must be {allowed}, its port from 1 to 65535")
        if parts.username is not None or parts.password is not None:
            raise ValueError(f"must be {allowed}, without a user or password (credentials are secrets)")
        if not query and (parts.query or parts.fragment):
            raise ValueError(f"must be {allowed}")
        return value

    return AfterValidator(validate)


def _https_origin(value: str) -> str:
    """A browser origin (scheme, host, port) as a CORS allow-list holds it: nothing after the host and port."""
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or 1 <= parts.port <= 65535
    except ValueError:
        port_ok = False
    # Browsers send the host in lower case, and the allow-list is compared as text.
    bare = value == f"https://{parts.netloc.lower()}" and "@" not in parts.netloc
    if not (bare and parts.hostname and _is_host(parts.hostname) and port_ok):
        raise ValueError("must be an HTTPS origin like https://app.example.com (lower case, a host and port, no path)")
    return value


HttpsOrigin = Annotated[str, AfterValidator(_https_origin)]


def _host_port(value: str) -> str:
    host, _, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not (host and port.isdigit() and _is_host(host) and 1 <= int(port) <= 65535):
        raise ValueError("must be host:port like smtp.example.com:587 (a DNS name or IP, a port from 1 to 65535)")
    return value


HostPort = Annotated[str, AfterValidator(_host_port)]

# The ACME directories that issue certificates no browser trusts (for tests): Let's Encrypt staging, Google's and
# Buypass's test CAs, Pebble, and any host that says staging or test.
_UNTRUSTED_ACME = re.compile(r"(^|[.-])(staging|test[0-9]*)([.-]|$)|^(localhost|127\.0\.0\.1|pebble)$")


def issues_untrusted_certificates(directory: str) -> bool:
    return bool(_UNTRUSTED_ACME.search(urlsplit(directory).hostname or ""))


def narrow_cidr(value: str) -> str:
    """A CIDR inside a VPC: never a catch-all, never wider than the largest block a VPC can have."""
    try:
        if "/" not in value:  # a bare address would silently mean /32
            raise ValueError(value)
        network = ipaddress.ip_network(value)
    except ValueError:
        raise ValueError("must be a CIDR like 10.0.0.0/16 with no host bits set") from None
    if network.prefixlen == 0:
        raise ValueError("must be a narrow range inside the VPC, not a catch-all (every address)")
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
        raise ValueError("must be written as an IPv4 CIDR, not IPv4-mapped IPv6")
    widest = 16 if network.version == 4 else 56
    if network.prefixlen < widest:
        raise ValueError(
            f"must be a range inside the VPC: /{widest} or narrower for IPv{network.version} "
            "(the largest block a VPC can have)"
        )
    return value


Cidr = Annotated[str, AfterValidator(narrow_cidr)]


# --- images ---------------------------------------------------------------------------------------

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
TAG = r"[\w][\w.-]{0,127}"
REGISTRY = (
    r"[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*",
    "a registry host with optional path, like registry.example.com/ai",
)

# Tags that name a channel, not a release: what they point at moves.
_CHANNELS = frozenset(
    {
        *("latest", "stable", "main", "master", "trunk", "edge", "nightly", "dev", "develop", "development"),
        *("head", "current", "next", "lts", "release", "prod", "production", "staging", "test", "canary"),
        *("beta", "alpha"),
    }
)
_PARTIAL_VERSION = re.compile(r"v?[0-9]{1,3}(\.[0-9]{1,3})?")


def image_tag(image: str) -> tuple[str | None, bool]:
    """(tag, whether a digest pins it) of an image reference."""
    match = _IMAGE.match(image)
    return (match["tag"], bool(match["digest"])) if match else (None, False)


def moving_tag(tag: str, pinned: bool) -> str | None:
    """Why TAG moves, or None: `latest` always; with pinning on, any channel or partial version."""
    if tag == "latest":
        return "`latest` moves with every push (and is what no tag means)"
    if pinned and tag.lower() in _CHANNELS:
        return f"`{tag}` names a channel, not a release: with pinImages each preview would pin whatever it is now"
    if pinned and _PARTIAL_VERSION.fullmatch(tag):
        return f"`{tag}` is a partial version that moves with each patch: with pinImages name one release"
    return None


def _image(value: str) -> str:
    match = _IMAGE.match(value)
    if not match:
        raise ValueError("must be an image reference like registry/repo:tag or repo@sha256:<digest>")
    if not (match["tag"] or match["digest"]):
        raise ValueError("must name a tag or a digest (an implicit :latest can move)")
    if match["tag"] == "latest" and not match["digest"]:
        raise ValueError("must not use the moving tag :latest")
    return value


def _release_tag(value: str) -> str:
    if value == "latest":
        raise ValueError("must name a release, not the moving tag latest")
    return value


ImageRef = Annotated[str, AfterValidator(_image)]
ImageTag = Annotated[str, matches(TAG, "an image tag (letters, digits, '_', '.', '-')"), AfterValidator(_release_tag)]


# --- secrets in plain places ---------------------------------------------------------------------------

# The policy pack's `no-secret-literals` patterns (policy/policies.py), so that a preview never refuses what
# the settings accepted; a test keeps them equal.
SECRET_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|auth[-_]?key)")
CREDENTIAL_VALUE = re.compile(
    r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"  # a URL with a password
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\bAKIA[0-9A-Z]{16}\b"  # an AWS access key id
    r"|\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI/Anthropic style API keys
)
# More shapes, for what a message may show: other providers' keys, webhook URLs that are credentials, tokens.
_CREDENTIAL_SHAPED = re.compile(
    r"\bAIza[0-9A-Za-z_-]{20,}|\bxox[a-z]-|\bgh[pousr]_[A-Za-z0-9]{20,}|hooks\.slack\.com/services/"
    r"|client-(key|certificate)-data|\btoken:|\bpassword:|^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9+/_=-]{32,}$"
)


def looks_like_a_credential(text: str) -> bool:
    return bool(CREDENTIAL_VALUE.search(text) or _CREDENTIAL_SHAPED.search(text))


def secret_env_name(name: str) -> bool:
    """Whether an env variable's NAME says it holds a secret (`X_FILE` names the path of a mounted one)."""
    return bool(SECRET_NAME.search(name)) and not name.endswith("_FILE")


def one_of(values: Collection[str]) -> str:
    return ", ".join(sorted(values))


# --- identities, references and durations of the platform's settings ----------------------------------------


def _group(value: str) -> str:
    # A Role bound to a `system:` group (e.g. system:authenticated) would grant it to every user.
    if not value.strip() or value != value.strip() or value.startswith("system:"):
        raise ValueError("must be a group of your authenticator: not empty, no surrounding spaces, not a system: group")
    return value


def _covers_backup_window(days: int) -> int:
    # A lock shorter than the backups' 30 days would let them be deleted while they are still the only copy.
    if days < BACKUP_WINDOW_DAYS:
        raise ValueError(
            f"must be at least {BACKUP_WINDOW_DAYS} (the backup window: dumps, base backups and WAL are kept "
            f"{BACKUP_WINDOW_DAYS} days, and a shorter lock leaves them deletable)"
        )
    return days


GroupName = Annotated[str, AfterValidator(_group)]
RoleArn = Annotated[
    str, matches(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/.+", "an IAM role ARN, arn:aws:iam::<account>:role/<name>")
]
OidcProviderArn = Annotated[str, matches(r"arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+", "an IAM OIDC provider ARN")]
ClusterName = Annotated[
    str, matches(r"[A-Za-z0-9][A-Za-z0-9._/:-]{0,199}", "a cluster name (letters, digits, '.', '_', '/', '-')")
]
StackRef = Annotated[
    str, matches(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "a stack reference like org/project/stack")
]
RetentionSize = Annotated[str, matches(r"[1-9][0-9]*(MB|GB|TB)", "a size like 50GB (units MB, GB, TB)")]
LockDays = Annotated[int, Field(le=3650), AfterValidator(_covers_backup_window)]
"""Days of an S3 Object Lock: the backup window at least, ten years at most."""
