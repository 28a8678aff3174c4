"""The catalog of the five systems the manuals describe."""

from services import agent_skeptic_bench, ai_benchmark, cad_ml_platform, docc2context, platform
from services.spec import ServiceSpec

CATALOG: dict[str, ServiceSpec] = {
    module.SERVICE.name: module.SERVICE
    for module in (ai_benchmark, agent_skeptic_bench, docc2context, cad_ml_platform, platform)
}
