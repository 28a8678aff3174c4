"""Logins of a PostgresCluster and how clients connect to it: TLS with SCRAM, nothing else (S1-07, X-12).

- the owner and the schema roles (S4-05): names checked as plain SQL identifiers, the basic-auth Secrets
  CloudNativePG reads their passwords from, the roles it manages, and `bootstrap.initdb` with the SQL that
  creates the roles and their schemas right after initdb;
- the connection URL an app reads (`sslmode=require`);
- `OwnerLogin`: what a job (the logical dump, the point-in-time drill) needs to connect as the owner with the
  server verified (`verify-full`) against the cluster's own CA: libpq's environment, the password file and
  the CA as volumes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

POSTGRES_PORT = 5432
PASSWORD_MOUNT = "/var/run/secrets/postgres"
SERVER_CA_MOUNT = "/var/run/secrets/postgres-ca"

# First match wins: TLS + SCRAM for every TCP client, plain-text TCP refused. CNPG's fixed rules (local peer,
# replication by certificate) stay in front of these.
PG_HBA = ("hostssl all all all scram-sha-256", "hostnossl all all all reject")

# CloudNativePG's instances run as the OS user `postgres`; its fixed map `local` lets that user in over the
# Unix socket (`local all all peer map=local`) only as the superuser. Mapping it to the app's logins too lets
# on-call run `kubectl exec <cluster>-1 -c postgres -- psql -U <owner>` (and pg_dump) as the database owner with
# no password at all (S4-07): whoever may exec into an instance is already its superuser, so this grants nothing.
INSTANCE_OS_USER = "postgres"


def pg_ident(logins: Sequence[str]) -> list[str]:
    """Lines for CloudNativePG's `pg_ident` (appended to its map `local`): the instance's OS user as each LOGIN."""
    return [f"local {INSTANCE_OS_USER} {login}" for login in logins]


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def identifier_problems(names: Sequence[tuple[str, str]]) -> list[str]:
    """One problem per (what, name) pair whose name is not a plain lowercase SQL identifier."""
    return [
        f"{what} {value!r} is not a plain lowercase SQL identifier"
        for what, value in names
        if not _IDENTIFIER.match(value)
    ]


def dns(identifier: str) -> str:
    """An SQL identifier as a DNS label (for Kubernetes object names)."""
    return identifier.replace("_", "-")


def credentials_secret(cluster: str, login: str) -> str:
    """The basic-auth Secret of LOGIN (a DNS label: `owner` or a schema role) that CNPG reads."""
    return f"{cluster}-{login}-credentials"


def managed_role(cluster: str, role: str) -> dict[str, Any]:
    """A schema role CNPG gives a login and the password of its Secret; it inherits nothing."""
    return {
        "name": role,
        "ensure": "present",
        "login": True,
        "inherit": False,
        "passwordSecret": {"name": credentials_secret(cluster, dns(role))},
    }


@dataclass(frozen=True)
class OwnerLogin:
    """How a job connects to a cluster's app database as its owner, the server verified (`verify-full`) against
    the cluster's own CA: `env` for libpq, the password file and the CA mounted from `volumes` at `mounts`."""

    cluster: str
    """The CloudNativePG Cluster."""
    namespace: pulumi.Input[str]
    """Its namespace (the job's too)."""
    database: str
    """The app database."""
    owner: str
    """Its owner."""
    credentials_secret: str
    """The owner's basic-auth Secret (`credentials_secret(cluster, "owner")`)."""

    def env(self) -> dict[str, pulumi.Input[str]]:
        """libpq's environment for the primary (without a database: `PGDATABASE` is the caller's choice)."""
        # `<cluster>-rw.<ns>.svc` is among the DNS names of CNPG's server certificate, so verify-full works
        # against the cluster's own CA (Secret `<cluster>-ca`).
        return {
            "PGHOST": pulumi.Output.concat(self.cluster, "-rw.", self.namespace, ".svc"),
            "PGPORT": str(POSTGRES_PORT),
            "PGUSER": self.owner,
            "PGPASSWORD_FILE": f"{PASSWORD_MOUNT}/password",
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": f"{SERVER_CA_MOUNT}/ca.crt",
            "PGCONNECT_TIMEOUT": "30",
        }

    def mounts(self) -> list[dict[str, Any]]:
        """The container's mounts of the password file and the CA."""
        return [
            {"name": "credentials", "mountPath": PASSWORD_MOUNT, "readOnly": True},
            {"name": "server-ca", "mountPath": SERVER_CA_MOUNT, "readOnly": True},
        ]

    def volumes(self) -> list[dict[str, Any]]:
        """The pod's volumes: the password key of the owner's Secret, and `<cluster>-ca` (made by CNPG)."""
        return [
            {
                "name": "credentials",
                "secret": {
                    "secretName": self.credentials_secret,
                    "defaultMode": 0o440,
                    "items": [{"key": "password", "path": "password"}],
                },
            },
            {
                "name": "server-ca",
                "secret": {
                    "secretName": f"{self.cluster}-ca",
                    "defaultMode": 0o444,
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                },
            },
        ]


def initdb(
    login: OwnerLogin, schemas: Sequence[str], schema_roles: Mapping[str, str], extensions: Sequence[str]
) -> dict[str, Any]:
    """`bootstrap.initdb`: the app database, its owner with the password of the owner's Secret, and the
    statements run once, as superuser, right after initdb (later schemas belong in the app's migrations)."""
    spec: dict[str, Any] = {
        "database": login.database,
        "owner": login.owner,
        "secret": {"name": login.credentials_secret},
        "dataChecksums": True,
    }
    # Schema roles exist (without login) before their schemas; CNPG's managed roles then give them a
    # password and login. They own their schema and are granted nothing in the owner's; the owner is
    # a member of each, so the nightly pg_dump (which runs as the owner) reads their schemas too.
    owners = {schema: role for role, schema in schema_roles.items()}
    statements = [f'CREATE ROLE "{role}" NOLOGIN' for role in schema_roles]
    statements += [f'GRANT "{role}" TO "{login.owner}"' for role in schema_roles]
    statements += [f'CREATE SCHEMA IF NOT EXISTS "{s}" AUTHORIZATION "{owners.get(s, login.owner)}"' for s in schemas]
    statements += [f'CREATE EXTENSION IF NOT EXISTS "{e}"' for e in extensions]
    if statements:
        spec["postInitApplicationSQL"] = statements
    return spec


def connection_url(
    user: str, password: pulumi.Input[str], host: pulumi.Input[str], database: str
) -> pulumi.Output[str]:
    """USER's `postgresql://` URL of DATABASE (a secret), TLS required."""
    return pulumi.Output.secret(
        pulumi.Output.concat(
            "postgresql://", user, ":", password, "@", host, f":{POSTGRES_PORT}/", database, "?sslmode=require"
        )
    )
