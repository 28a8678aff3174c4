"""ai-platform: the five AI/ML services of the operations manuals, per stack."""

import pulumi

import providers
import settings
from wiring.platform import deploy_platform

config = settings.load()
outputs = deploy_platform(config, providers.build(config))
for name, value in outputs.items():
    pulumi.export(name, value)
