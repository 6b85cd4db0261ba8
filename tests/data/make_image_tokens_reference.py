"""Write ``image_tokens_reference.json``: image-token counts computed by the open references.

Not run by CI or pytest (the tests only read the JSON it writes). Run it by hand in a scratch
environment outside the project that has the references installed, e.g.::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install transformers pillow numpy mistral_common litellm \
        "torch==2.13.0+cpu" && /tmp/refvenv/bin/pip install --no-deps "torchvision==0.28.0"
    /tmp/refvenv/bin/python tests/data/make_image_tokens_reference.py

The model hub is not needed: every processor is built from the settings of its model's published
``preprocessor_config.json``, written out below (``REFERENCES[...]["settings"]``) and recorded in
the JSON with the library versions. Each case is one image size on one reference; the test
compares ``image_tokens(find_family(model), width, height, detail)`` with its ``tokens``.

Where litellm's constants disagree with the provider's documentation (see
``docs/image-token-rules.md``, "Reference implementations and known disagreements"), the
documented constant is passed to litellm's own arithmetic instead, and the JSON says so in
``settings`` and ``note``.
"""

from __future__ import annotations

import json
import math
import random
import sys
import types
from fractions import Fraction
from importlib.metadata import version
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).with_name("image_tokens_reference.json")

# Edge sizes (width, height): tiny, thin strips both ways, tile and patch boundaries, a scaled
# side landing a fraction above a boundary, ordinary pages and photos, far over every cap.
EDGE_SIZES = [
    (1, 1),
    (2, 3),
    (13, 13),
    (14, 14),
    (27, 27),
    (28, 28),
    (29, 29),
    (10, 10),
    (20, 1804),
    (1804, 20),
    (139, 18),
    (18, 139),
    (1, 300),
    (300, 1),
    (100, 100),
    (126, 126),
    (336, 336),
    (336, 672),
    (337, 337),
    (384, 384),
    (385, 385),
    (511, 513),
    (512, 512),
    (513, 512),
    (640, 480),
    (767, 769),
    (768, 768),
    (769, 385),
    (1000, 1000),
    (1024, 1024),
    (1025, 1025),
    (1092, 1092),
    (1217, 4867),
    (4867, 1217),
    (1280, 720),
    (1456, 819),
    (1540, 1540),
    (1541, 770),
    (1568, 1568),
    (1569, 1569),
    (1600, 1600),
    (1700, 2200),
    (2200, 1700),
    (1800, 2400),
    (1920, 1080),
    (1080, 1920),
    (2048, 2048),
    (2049, 1025),
    (2048, 4096),
    (2480, 3508),
    (2576, 1449),
    (3024, 1964),
    (3072, 3072),
    (3508, 4961),
    (3840, 2160),
    (4032, 3024),
    (5000, 5000),
    (6000, 4000),
    (8000, 8000),
    (20000, 300),
    (300, 20000),
    (12000, 60),
    (57, 3001),
    (3001, 57),
    (999, 1001),
    (4095, 4097),
    (30000, 30000),
]


def random_sizes(seed: int = 9, count: int = 60) -> list[tuple[int, int]]:
    """Log-uniform sizes from 1 to 12,000 px a side, aspect ratio at most 150 (seeded)."""
    rng = random.Random(seed)
    sizes = []
    while len(sizes) < count:
        w = int(round(math.exp(rng.uniform(0, math.log(12000)))))
        h = int(round(math.exp(rng.uniform(0, math.log(12000)))))
        if max(w, h) / min(w, h) <= 150:
            sizes.append((max(w, 1), max(h, 1)))
    return sizes


SIZES = list(dict.fromkeys(EDGE_SIZES + random_sizes()))
SMALL_ENOUGH_TO_DRAW = 40_000_000  # real PIL images up to this many pixels; beyond, the size alone
FLOAT_ARTIFACTS: list[dict] = []  # litellm patch cases whose float multiply rounds up past the exact product


# --- transformers -----------------------------------------------------------------------------


def qwen_like(processor_cls, settings):
    processor = processor_cls(**settings)

    def count(w: int, h: int) -> int:
        merge = processor.merge_size
        return processor.get_number_of_image_patches(h, w, {}) // (merge * merge)

    return processor, count


def qwen_real_image_check(processor, w: int, h: int) -> int:
    """Tokens from a real preprocessing run (``image_grid_thw``), to cross-check the size path."""
    out = processor(images=[Image.new("RGB", (w, h))], return_tensors="np", input_data_format="channels_last")
    t, gh, gw = (int(x) for x in out["image_grid_thw"][0])
    return t * gh * gw // (processor.merge_size**2)


def make_transformers_refs() -> dict:
    from transformers.models.ernie4_5_vl_moe.image_processing_pil_ernie4_5_vl_moe import (
        Ernie4_5_VLMoeImageProcessorPil,
    )
    from transformers.models.gemma4.image_processing_pil_gemma4 import Gemma4ImageProcessorPil
    from transformers.models.glm4v.image_processing_pil_glm4v import Glm4vImageProcessorPil
    from transformers.models.glm46v.image_processing_pil_glm46v import Glm46VImageProcessorPil
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tf = f"transformers {version('transformers')}"
    refs = {}

    qwen25 = dict(min_pixels=3136, max_pixels=12_845_056, patch_size=14, temporal_patch_size=2, merge_size=2)
    refs["qwen2.5-vl"] = dict(
        library=tf,
        models=["qwen/qwen2.5-vl-72b-instruct", "qwen/qwen-2.5-vl-7b-instruct"],
        call="Qwen2VLImageProcessorPil(**settings).get_number_of_image_patches(h, w) / merge_size**2",
        settings=qwen25,
        config="Qwen/Qwen2.5-VL-72B-Instruct preprocessor_config.json",
        make=lambda: qwen_like(Qwen2VLImageProcessorPil, qwen25),
    )
    qwen3 = dict(
        size={"shortest_edge": 65_536, "longest_edge": 16_777_216}, patch_size=16, temporal_patch_size=2, merge_size=2
    )
    refs["qwen3-vl"] = dict(
        library=tf,
        models=["qwen/qwen3-vl-8b-instruct", "qwen/qwen3-vl-235b-a22b-instruct"],
        call="Qwen2VLImageProcessorPil(**settings).get_number_of_image_patches(h, w) / merge_size**2",
        settings=qwen3,
        config="Qwen/Qwen3-VL-8B-Instruct preprocessor_config.json (Qwen2VLImageProcessorFast)",
        make=lambda: qwen_like(Qwen2VLImageProcessorPil, qwen3),
    )
    glm45 = dict(
        size={"shortest_edge": 12_544, "longest_edge": 11_760_000}, patch_size=14, temporal_patch_size=2, merge_size=2
    )
    refs["glm-4.5v"] = dict(
        library=tf,
        models=["z-ai/glm-4.5v"],
        call="Glm4vImageProcessorPil(**settings) on a real image: image_grid_thw / merge_size**2",
        settings=glm45,
        config="transformers Glm4vImageProcessor defaults (GLM-4.1V/4.5V: 12,544..11,760,000 px)",
        make=lambda: glm_like(Glm4vImageProcessorPil, glm45),
    )
    glm46 = dict(
        size={"shortest_edge": 12_544, "longest_edge": 9_633_792}, patch_size=14, temporal_patch_size=2, merge_size=2
    )
    refs["glm-4.6v"] = dict(
        library=tf,
        models=["z-ai/glm-4.6v"],
        call="Glm46VImageProcessorPil(**settings) on a real image: image_grid_thw / merge_size**2",
        settings=glm46,
        config="zai-org/GLM-4.6V preprocessor_config.json (12,544..9,633,792 px)",
        make=lambda: glm_like(Glm46VImageProcessorPil, glm46),
    )
    ernie = dict(size={"shortest_edge": 3136, "longest_edge": 28 * 28 * 6177}, patch_size=14, merge_size=2)
    refs["ernie-4.5-vl"] = dict(
        library=tf,
        models=["baidu/ernie-4.5-vl-424b-a47b", "baidu/ernie-4.5-vl-28b-a3b"],
        call="Ernie4_5_VLMoeImageProcessorPil(**settings).get_number_of_image_patches(h, w) / merge_size**2",
        settings=ernie,
        config="transformers Ernie4_5_VLMoeImageProcessor defaults",
        make=lambda: qwen_like(Ernie4_5_VLMoeImageProcessorPil, ernie),
    )
    gemma4 = dict(max_soft_tokens=280, patch_size=16, pooling_kernel_size=3)
    refs["gemma-4"] = dict(
        library=tf,
        models=["google/gemma-4-31b-it", "google/gemma-4-26b-a4b-it"],
        call="Gemma4ImageProcessorPil(**settings) on a real image: num_soft_tokens_per_image",
        settings=gemma4,
        config="google/gemma-4 processor defaults (max_soft_tokens 280)",
        make=lambda: gemma4_like(Gemma4ImageProcessorPil, gemma4),
    )
    refs.update(make_torch_refs(tf))
    return refs


def glm_like(processor_cls, settings):
    processor = processor_cls(**settings)

    def count(w: int, h: int) -> int:
        if w * h > SMALL_ENOUGH_TO_DRAW:
            raise OverflowError("too large to draw")
        return qwen_real_image_check(processor, w, h)

    return processor, count


def gemma4_like(processor_cls, settings):
    processor = processor_cls(**settings)

    def count(w: int, h: int) -> int:
        if w * h > SMALL_ENOUGH_TO_DRAW:
            raise OverflowError("too large to draw")
        out = processor(images=[Image.new("RGB", (w, h))], return_tensors="np", input_data_format="channels_last")
        return int(out["num_soft_tokens_per_image"][0])

    return processor, count


def extract_functions(module: str, names: list[str], namespace: dict) -> dict:
    """Run the named top-level functions of an installed transformers module, nothing else.

    The Llama 4 and Kimi K2.5 processor classes are torchvision-backed, and PyPI has no
    torchvision build for the CPU torch wheel; the size arithmetic lives in plain module-level
    functions, so those are taken from the installed source as they are and run with torch.
    """
    import ast
    import importlib.util

    path = importlib.util.find_spec("transformers").submodule_search_locations[0]
    source = Path(path, *module.split(".")[1:]).with_suffix(".py").read_text()
    tree = ast.parse(source)
    body = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names]
    for node in body:
        node.decorator_list = []  # lru_cache on a SizeDict argument: not needed here
    exec(compile(ast.Module(body=body, type_ignores=[]), module, "exec"), namespace)
    return namespace


def make_torch_refs(tf: str) -> dict:
    """Llama 4 and Kimi K2.5: the processors' own size functions (see extract_functions)."""
    try:
        import torch
    except ImportError:
        print("torch missing: Llama 4 and Kimi references skipped", file=sys.stderr)
        return {}
    refs = {}
    llama = dict(size={"height": 336, "width": 336}, max_patches=16, resize_to_max_canvas=False)

    def make_llama():
        ns = extract_functions(
            "transformers.models.llama4.image_processing_llama4",
            ["get_factors", "find_supported_resolutions", "get_best_fit"],
            {"math": math, "torch": torch, "defaultdict": __import__("collections").defaultdict},
        )
        possible = torch.tensor(ns["find_supported_resolutions"](16, types.SimpleNamespace(height=336, width=336)))

        def count(w: int, h: int) -> int:
            target = ns["get_best_fit"]((h, w), possible, resize_to_max_canvas=False)
            tiles = (int(target[0]) // 336) * (int(target[1]) // 336)
            per_tile = (336 // 14) ** 2 // 4  # 24x24 patches of 14 px, pixel shuffle ratio 0.5 -> 144
            # Llama4Processor._prompt_split_image: start, end and <|image|> markers, the global tile,
            # and with more than one tile each tile's tokens plus one separator per tile.
            return 3 + per_tile + (tiles * (per_tile + 1) if tiles > 1 else 0)

        return None, count

    refs["llama-4"] = dict(
        library=f"{tf}, torch {version('torch')}",
        models=["meta-llama/llama-4-maverick", "meta-llama/llama-4-scout"],
        call="image_processing_llama4.get_best_fit((h, w), find_supported_resolutions(16, 336 px)) -> tiles; "
        "tokens as Llama4Processor._prompt_split_image (144 a tile, +1 separator a tile, global tile, 3 markers)",
        settings=llama,
        config="meta-llama/Llama-4-Scout-17B-16E-Instruct preprocessor_config.json",
        make=make_llama,
    )
    kimi = dict(max_size_per_side=512, max_patches=16_384, patch_size=14, merge_kernel_size=2)

    def make_kimi():
        ns = extract_functions(
            "transformers.models.kimi_k25.image_processing_kimi_k25", ["navit_resize"], {"math": math}
        )

        def count(w: int, h: int) -> int:
            _, (pad_h, pad_w) = ns["navit_resize"](h, w, **kimi)
            return (pad_h // 14) * (pad_w // 14) // 4  # as get_number_of_image_patches, merged 2x2

        return None, count

    refs["kimi-k2.5"] = dict(
        library=tf,
        models=["moonshotai/kimi-k2.5"],
        call="image_processing_kimi_k25.navit_resize(h, w, **settings) padded grid / merge_kernel_size**2 "
        "(as Kimi_K25ImageProcessor.get_number_of_image_patches)",
        settings=kimi,
        config="Kimi_K25ImageProcessor defaults: 16,384 patches, 512 patches a side",
        make=make_kimi,
    )
    return refs


# --- mistral_common ---------------------------------------------------------------------------


def make_mistral_refs() -> dict:
    from mistral_common.tokens.tokenizers.image import ImageConfig, ImageEncoder, SpecialImageIDs

    mc = f"mistral_common {version('mistral_common')}"
    refs = {}
    for key, models, cfg, source in [
        (
            "pixtral-12b",
            ["mistralai/pixtral-12b"],
            dict(image_patch_size=16, max_image_size=1024, spatial_merge_size=1),
            "mistralai/Pixtral-12B-2409 params.json",
        ),
        (
            "mistral-small-3",
            ["mistralai/mistral-small-3.1-24b-instruct", "mistralai/mistral-small-3.2-24b-instruct"],
            dict(image_patch_size=14, max_image_size=1540, spatial_merge_size=2),
            "mistralai/Mistral-Small-3.1-24B-Instruct-2503 params.json (vision_encoder)",
        ),
    ]:

        def make(cfg=cfg):
            encoder = ImageEncoder(ImageConfig(**cfg), SpecialImageIDs(img=10, img_break=12, img_end=13))

            def count(w: int, h: int) -> int:
                img = Image.new("RGB", (w, h)) if w * h <= SMALL_ENOUGH_TO_DRAW else types.SimpleNamespace(size=(w, h))
                cols, rows = encoder._image_to_num_tokens(img)
                return cols * rows + rows  # one [IMG] per cell, one [IMG_BREAK]/[IMG_END] per row

            return encoder, count

        refs[key] = dict(
            library=mc,
            models=models,
            settings=cfg,
            config=source,
            call="ImageEncoder(ImageConfig(**settings))._image_to_num_tokens(img): cols*rows + rows",
            make=make,
        )
    return refs


# --- litellm ------------------------------------------------------------------------------------


def make_litellm_refs() -> dict:
    from litellm.litellm_core_utils import token_counter as tc

    ll = f"litellm {version('litellm')}"
    refs = {}
    for key, family, models in [
        ("openai-tiles:gpt-4o", "gpt-4o", ["openai/gpt-4o", "openai/gpt-4o-2024-11-20"]),
        ("openai-tiles:gpt-4.1", "gpt-4.1", ["openai/gpt-4.1"]),
        ("openai-tiles:gpt-4o-mini", "gpt-4o-mini", ["openai/gpt-4o-mini"]),
        ("openai-tiles:gpt-5", "gpt-5", ["openai/gpt-5", "openai/gpt-5-chat"]),
        ("openai-tiles:gpt-5.1", "gpt-5.1", ["openai/gpt-5.1"]),
        ("openai-tiles:o3", "o3", ["openai/o3", "openai/o1"]),
    ]:

        def make(family=family):
            return None, lambda w, h: tc._image_policy_tokens(family, (w, h), "high")

        refs[key] = dict(
            library=ll,
            models=models,
            settings={"family": family, "detail": "high"},
            call="litellm_core_utils.token_counter._image_policy_tokens(family, (w, h), 'high')",
            config="litellm _TILE_IMAGE_TOKEN_COSTS (agrees with OpenAI's guide)",
            make=make,
        )

    # Patch models: litellm's patch-count arithmetic with OpenAI's documented budget and size cap;
    # tokens = ceil(multiplier * patches), rounded up as litellm rounds, but with the multiplier as the
    # decimal it is written as: litellm multiplies in float, so 300 patches x 1.62 = 486 comes out
    # 486.00000000000006 there and is rounded up to 487 (such cases are listed in "float_artifacts").
    for key, models, budget, multiplier, constants in [
        (
            "openai-patches:gpt-5.4",
            ["openai/gpt-5.4", "openai/gpt-5.5", "openai/gpt-5.4-pro"],
            2500,
            1.2,
            "budget 2,500 / 2,048 px at detail high: OpenAI guide; multiplier 1.2: litellm and forum measurements",
        ),
        (
            "openai-patches:gpt-5.4-mini",
            ["openai/gpt-5.4-mini", "openai/gpt-5.4-nano"],
            2500,
            1.2,
            "budget 2,500 and multiplier 1.2: litellm and forum measurements (OpenAI guide says 1,536 and 1.62/2.46)",
        ),
        (
            "openai-patches:gpt-5.2",
            ["openai/gpt-5.2", "openai/gpt-5.3-codex", "openai/gpt-5.2-codex", "openai/gpt-5-mini"],
            1536,
            1.2,
            "budget 1,536: OpenAI guide (litellm says 6,144); multiplier 1.2: litellm and forum measurements"
            " (gpt-5-mini: billed, docs/cost-evidence.md)",
        ),
        (
            "openai-patches:gpt-4.1-mini",
            ["openai/gpt-4.1-mini"],
            1536,
            1.62,
            "budget 1,536 and multiplier 1.62: OpenAI guide (litellm caps gpt-4.1-mini at 6,144)",
        ),
        (
            "openai-patches:gpt-4.1-nano",
            ["openai/gpt-4.1-nano"],
            1536,
            2.46,
            "budget 1,536 and multiplier 2.46: OpenAI guide (litellm has no nano entry)",
        ),
        ("openai-patches:o4-mini", ["openai/o4-mini"], 1536, 1.72, "budget 1,536 and multiplier 1.72: OpenAI guide"),
    ]:

        def make(budget=budget, multiplier=multiplier, key=key):
            def count(w: int, h: int) -> int:
                patches = tc._image_patch_count(w, h, 2048, budget)
                exact = math.ceil(Fraction(str(multiplier)) * patches)
                if math.ceil(patches * multiplier) != exact:
                    FLOAT_ARTIFACTS.append(
                        dict(
                            ref=key,
                            width=w,
                            height=h,
                            patches=patches,
                            tokens=exact,
                            litellm_float_tokens=math.ceil(patches * multiplier),
                        )
                    )
                return exact

            return None, count

        refs[key] = dict(
            library=ll,
            models=models,
            settings={"max_dimension": 2048, "patch_budget": budget, "multiplier": multiplier},
            call="ceil(Fraction(str(multiplier)) * "
            "litellm_core_utils.token_counter._image_patch_count(w, h, 2048, budget))",
            config=constants,
            make=make,
        )

    for key, limits, models in [
        ("anthropic:standard", (1568, 1568), ["anthropic/claude-sonnet-4.5", "anthropic/claude-3.7-sonnet"]),
        ("anthropic:high", (2576, 4784), ["anthropic/claude-opus-4.7"]),
    ]:

        def make(limits=limits):
            return None, lambda w, h: tc._anthropic_image_tokens((w, h), limits)

        refs[key] = dict(
            library=ll,
            models=models,
            settings={"max_long_edge": limits[0], "max_tokens": limits[1]},
            call="litellm_core_utils.token_counter._anthropic_image_tokens((w, h), limits)",
            config="Anthropic 'Vision' guide limits; litellm rounds the short side to whole pixels",
            make=make,
        )
    return refs


# --- run ------------------------------------------------------------------------------------------


def main() -> int:
    refs = {**make_transformers_refs(), **make_mistral_refs(), **make_litellm_refs()}
    cases, refused, checks = [], [], []
    for key, ref in refs.items():
        processor, count = ref["make"]()
        for w, h in SIZES:
            try:
                tokens = int(count(w, h))
            except OverflowError:
                continue  # too large to draw for a real-image reference: not recorded
            except (ValueError, AssertionError) as exc:  # the reference refuses this size
                refused.append(dict(ref=key, width=w, height=h, error=f"{type(exc).__name__}: {exc}"[:200]))
                continue
            cases.append([key, w, h, "high", tokens])
        # Cross-check the size-only path with a real preprocessing run on a few small images.
        if key in ("qwen2.5-vl", "qwen3-vl", "ernie-4.5-vl"):
            for w, h in [(20, 1804), (139, 18), (1217, 487), (1700, 2200), (27, 27)]:
                real, path = qwen_real_image_check(processor, w, h), count(w, h)
                checks.append(dict(ref=key, width=w, height=h, real_image=real, size_only=path))
                assert real == path, (key, w, h, real, path)
    data = {
        "about": "Image tokens per reference implementation; written by tests/data/make_image_tokens_reference.py, "
        "read by tests/test_image_tokens.py. Each case: the reference's count for one image size.",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pillow": version("pillow"),
        "references": {key: {k: v for k, v in ref.items() if k != "make"} for key, ref in refs.items()},
        "case_fields": ["ref", "width", "height", "detail", "tokens"],
        "refused": refused,
        "cross_checks": checks,
        "float_artifacts": FLOAT_ARTIFACTS,
    }
    head = json.dumps(data, indent=1)[: -len("\n}")]
    rows = ",\n  ".join(json.dumps(case, separators=(",", ":")) for case in cases)
    OUT.write_text(f'{head},\n "cases": [\n  {rows}\n ]\n}}\n')
    print(f"{len(cases)} cases, {len(refused)} refused, {len(refs)} references -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
