"""ai-platform: the five AI/ML services of the operations manuals, per stack."""

import pulumi

import providers
import settings
from services import CATALOG
from wiring.platform import deploy_platform

config = settings.load(CATALOG)
outputs = deploy_platform(config, providers.build(config))
for name, value in outputs.items():
    pulumi.export(name, value)
