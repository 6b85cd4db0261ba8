"""The flat module paths of before the layers still import for one release: the same objects, and a warning."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Old module -> its new home(s). A module split in several answers each name from the home that has it.
MOVED = {
    "cache": ["http.cache", "http.cache_info"],
    "fetch": ["http.client", "http.deadline", "catalog.source"],
    "frame": ["catalog.frame"],
    "vision": ["catalog.vision"],
    "filters": ["catalog.filters"],
    "memo": ["catalog.memo"],
    "endpoints": ["catalog.endpoints"],
    "stores.history": ["catalog.history"],
    "image_tokens": ["pricing.image_tokens"],
    "cost": ["pricing.cost"],
    "pages": ["trials.pages"],
    "tesseract": ["trials.tesseract"],
    "accuracy": ["trials.accuracy"],
    "sending": ["trials.client"],
    "terminal": ["present.terminal"],
    "payload": ["present.payload"],
    "export": ["present.export"],
    "charts": ["present.charts"],
    "widgets": ["present.widgets"],
    "notebook_views": ["present.notebook_views"],
    "guard": ["server.guard"],
}

#: Imports each old path in a fresh interpreter, and says what it warned and which public names differ.
SCRIPT = """
import importlib, importlib.util, json, sys, warnings
moved = json.loads(sys.argv[1])
report = {}
for old, homes in moved.items():
    homes = [h for h in homes if importlib.util.find_spec("vision_models." + h) is not None]
    new = [importlib.import_module("vision_models." + h) for h in homes]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module("vision_models." + old)
        importlib.import_module("vision_models." + old)  # a second import says nothing more
    names = [n for m in new for n in vars(m) if not n.startswith("__")]
    differ = [n for n in names if getattr(module, n) is not next(getattr(m, n) for m in new if hasattr(m, n))]
    report[old] = {
        "warnings": [(w.category.__name__, str(w.message)) for w in caught],
        "homes": homes,
        "differ": differ,
        "names": len(names),
    }
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def report():
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(MOVED)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_imports_gives_the_same_objects_and_warns_once(report, old):
    seen = report[old]
    assert seen["names"] > 0
    assert seen["differ"] == []
    homes = ", ".join(f"vision_models.{home}" for home in seen["homes"])
    message = f"vision_models.{old} moved to {homes}; the old name goes in the next release"
    assert seen["warnings"] == [["DeprecationWarning", message]]


def test_the_documented_attribute_paths_say_nothing():
    code = (
        # pandas first: pandas 2.2.0 (the lowest allowed) warns at its own import, which is not ours to test
        "import pandas, warnings; warnings.simplefilter('error'); import vision_models as vm; "
        "print(vm.cost.rank_costs.__module__, vm.pages.sample_pages.__module__, vm.history.import_files.__module__, "
        "vm.accuracy.cer.__module__, vm.image_tokens.find_family.__module__, vm.export.UnsafeTarget.__module__, "
        "vm.trials.side_by_side_html.__name__, vm.catalog.models_frame.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "vision_models.pricing.cost",
        "vision_models.trials.pages",
        "vision_models.catalog.history",
        "vision_models.trials.accuracy",
        "vision_models.pricing.image_tokens",
        "vision_models.present.export",
        "side_by_side_html",
        "models_frame",
    ]
