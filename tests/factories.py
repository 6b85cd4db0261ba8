"""Catalog entries and paths for tests: hand-made models in OpenRouter's shape, the real catalogs.

Imported by test modules by name (``from factories import model``); the
fixtures live in conftest.py, which test modules never import.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CATALOGS = Path(os.environ.get("VISION_MODELS_SHARED", REPO.parent / "shared")) / "catalogs"


def shared_catalog(name: str) -> Path:
    """A real catalog from ../shared/catalogs, or a skip saying why it is missing."""
    path = SHARED_CATALOGS / name
    if not path.exists():
        pytest.skip(f"real catalog {path} is absent: the shared catalogs folder must sit beside the checkout")
    return path


def model(model_id: str, *, prompt="0.000001", completion="0.000002", inputs=("text",), **extra) -> dict:
    """A catalog entry in OpenRouter's shape, with the fields a test cares about overridable."""
    entry = {
        "id": model_id,
        "name": extra.pop("name", model_id.split("/")[-1]),
        "description": extra.pop("description", f"Test model {model_id}."),
        "created": extra.pop("created", 1_700_000_000),
        "context_length": extra.pop("context_length", 128_000),
        "architecture": extra.pop(
            "architecture",
            {
                "modality": f"{'+'.join(inputs)}->text",
                "input_modalities": list(inputs),
                "output_modalities": ["text"],
            },
        ),
        "pricing": extra.pop("pricing", {"prompt": prompt, "completion": completion}),
        "top_provider": extra.pop("top_provider", {"context_length": 128_000, "max_completion_tokens": 4096}),
    }
    entry.update(extra)
    return entry


def catalog_body(*entries: dict) -> str:
    return json.dumps({"data": list(entries)})


SMALL_CATALOG = catalog_body(
    model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=("text", "image"), name="OpenAI: GPT-4o"),
    model("deepseek/deepseek-chat", prompt="0.00000027", completion="0.0000011", name="DeepSeek: Chat"),
    model("google/gemini-2.5-flash", prompt="0.0000003", completion="0.0000025", inputs=("text", "image", "file")),
)
