"""Image-token rules of one host: where a provider documents its own way of counting a model's image tokens.

The same open model served by different providers can count image tokens differently (a hosted API
may cap an image at a smaller pixel budget than the open processor). Where a provider documents its
own rule, :func:`vision_models.pricing.providers.cost_by_provider` prices that endpoint by it and
says so in ``rule_of``; elsewhere the model's rule applies and ``rule_of`` says
:data:`MODEL_RULE_NOTE`.

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from .image_tokens import FamilyRule, normalise_model_id

__all__ = ["HOST_RULES", "MODEL_RULE_NOTE", "HostRule", "find_host_rule", "host_rules"]

#: What ``rule_of`` says on an endpoint priced by the model's rule.
MODEL_RULE_NOTE = "rule of the model, not of this host"


@dataclass(frozen=True)
class HostRule:
    """A provider's own image-token rule for the models it matches."""

    provider: str  # regex searched in the endpoint's provider_name, lower-cased
    model: str  # regex searched in the normalised model id
    rule: FamilyRule


_ALIBABA = (
    "Alibaba Cloud Model Studio, 'Visual understanding (Qwen-VL)': each 28x28 px is a token, at least 4 and by default"
    " at most 1,280 tokens an image (www.alibabacloud.com/help/en/model-studio/vision)"
)

#: Ordered host rules; the first matching both the provider and the model applies.
HOST_RULES: tuple[HostRule, ...] = (
    HostRule(
        r"alibaba",
        r"/qwen-?2(?:\.5)?-vl-",
        FamilyRule(
            "qwen2.5-vl@alibaba",
            "qwen-vl",
            r"$^",
            MappingProxyType(dict(factor=28, min_pixels=4 * 28 * 28, max_pixels=1280 * 28 * 28)),
            False,
            f"host rule: {_ALIBABA}",
            "transformers 5.24.0 qwen2_vl smart_resize with Alibaba's documented limits",
        ),
    ),
)


def find_host_rule(model_id: str, provider_name: str) -> HostRule | None:
    """The first :data:`HOST_RULES` entry for this model at this provider, else None."""
    key, host = normalise_model_id(model_id), str(provider_name).lower()
    for entry in HOST_RULES:
        if re.search(entry.provider, host) and re.search(entry.model, key):
            return entry
    return None


def host_rules(ids: list[str], provider_names: list[str]) -> tuple[list[FamilyRule | None], list[str]]:
    """Each endpoint's host rule (None where the model's rule applies), and what ``rule_of`` says."""
    found = [find_host_rule(i, p) for i, p in zip(ids, provider_names)]
    rules = [entry.rule if entry else None for entry in found]
    notes = [f"this host's own rule ({entry.rule.family})" if entry else MODEL_RULE_NOTE for entry in found]
    return rules, notes
