"""Pulumi.yaml documents every config key the program reads (issue: a description for every key)."""

import yaml

from services import CATALOG
from settings import PROJECT, required_secret_keys
from settings.reader import TOP_LEVEL_KEYS
from tests.support.runtime import ROOT


def test_every_config_key_has_a_description_in_the_project_schema():
    schema = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    documented = {key if ":" in key else f"{PROJECT}:{key}": entry for key, entry in schema.items()}
    everything_on = {f"{PROJECT}:alerting": {"webhookUrl": "https://hooks.example.com/x"}}
    keys = {*TOP_LEVEL_KEYS.values(), *required_secret_keys(CATALOG, everything_on)}
    missing = sorted(key for key in keys if not (documented.get(key) or {}).get("description"))
    assert missing == [], f"undocumented config keys: {missing}"
    secrets = set(required_secret_keys(CATALOG, everything_on))
    assert all(documented[key].get("secret") is True for key in secrets)
