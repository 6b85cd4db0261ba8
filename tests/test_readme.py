"""The examples in README.md and docs/ run as written, offline, against the bundled sample.

Every ```python block of a file runs, in order, in one namespace, in a fresh process whose working
folder, home, cache and history are temporary, whose catalog source is the sample and whose
OpenRouter address cannot be reached. A block preceded by ``<!-- not run: reason -->`` is skipped
(it needs a key, the network or a history of real catalogs); the README has none.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from factories import REPO

PACKAGE_ROOT = REPO  # where the package under test lives (REPO is swapped for a folder of pages in two tests)
DOCS_WITH_EXAMPLES = ["README.md", "docs/guide.md", "docs/api.md", "docs/image-token-rules.md"]
UNREACHABLE = "http://127.0.0.1:9/api/v1"  # the discard port: nothing answers there
_FENCE = re.compile(r"^```(\w*)\s*$")
_NOT_RUN = re.compile(r"^<!-- not run: (.+\S) -->$")

# Runs the blocks given in a JSON file in one namespace; a traceback names the Markdown file and line.
_RUNNER = """
import json, sys
namespace = {"__name__": "__main__"}
for block in json.load(open(sys.argv[1], encoding="utf-8")):
    code = compile("\\n" * (block["line"] - 1) + block["source"], block["path"], "exec")
    exec(code, namespace)
"""


@dataclass
class Block:
    path: str
    lang: str
    line: int  # first line of the code, 1-based
    source: str
    not_run: str | None  # the reason given, for a block marked not to run


def blocks(relative: str) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    lines = (REPO / relative).read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = _NOT_RUN.match(before.strip())
        source = "\n".join(lines[i + 1 : end]) + "\n"
        found.append(Block(relative, opening.group(1), i + 2, source, marker.group(1) if marker else None))
        i = end + 1
    return found


def run_python_blocks(relative: str, tmp_path: Path) -> subprocess.CompletedProcess:
    chosen = [b for b in blocks(relative) if b.lang == "python" and b.not_run is None]
    assert chosen, f"{relative} has no Python example to run"
    todo = tmp_path / "blocks.json"
    todo.write_text(json.dumps([{"path": str(REPO / b.path), "line": b.line, "source": b.source} for b in chosen]))
    runner = tmp_path / "run_blocks.py"
    runner.write_text(_RUNNER)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VISION_MODELS_", "OPENROUTER_"))}
    env.update(
        VISION_MODELS_SOURCE="sample",
        VISION_MODELS_CACHE=str(tmp_path / "cache" / "http_cache.sqlite"),
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "xdg"),
        OPENROUTER_BASE_URL=UNREACHABLE,
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
    )
    return subprocess.run(
        [sys.executable, str(runner), str(todo)],
        check=False,
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("relative", DOCS_WITH_EXAMPLES)
def test_python_examples_run_as_written(relative, tmp_path):
    done = run_python_blocks(relative, tmp_path)
    assert done.returncode == 0, f"an example of {relative} failed:\n{done.stderr[-4000:]}"


def test_the_readme_runs_every_python_block():
    python = [b for b in blocks("README.md") if b.lang == "python"]
    assert python and all(b.not_run is None for b in python)


def test_a_failing_example_is_reported_with_its_file_and_line(tmp_path, monkeypatch):
    """The runner itself: a block that raises fails the run, and the traceback points into the Markdown file."""
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```python\nx = 1\n```\n\n<!-- not run: needs nothing -->\n```python\nraise SystemExit(3)\n```\n"
        "\n```python\nassert x == 2, 'x is one'\n```\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert [b.not_run for b in blocks("page.md")] == [None, "needs nothing", None]
    done = run_python_blocks("page.md", tmp_path)
    assert done.returncode == 1
    assert f'File "{page}", line 13' in done.stderr and "AssertionError: x is one" in done.stderr


def test_the_examples_cannot_reach_the_network(tmp_path, monkeypatch):
    """The address the examples get refuses connections, so a live fetch there fails instead of going out."""
    page = tmp_path / "live.md"
    page.write_text(
        "```python\nimport vision_models as vm\nres = vm.fetch_vision_models('openrouter')\n"
        "assert res.error == 'Network request failed', res.error\n```\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    done = run_python_blocks("live.md", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_readme_test_command_is_the_one_ci_runs():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    bash = [b.source.strip() for b in blocks("README.md") if b.lang == "bash"]
    assert ".venv/bin/python -m pytest" in bash and ".venv/bin/python -m pytest" in ci
    setup = next(b for b in bash if b.startswith("python3 -m venv .venv"))
    assert setup.split(" && ")[1].replace(".venv/bin/python -m pip install", "").strip() in " ".join(ci)
    assert '.venv/bin/python -m pytest -m "not slow"' in readme  # the fast lane


def test_the_readme_lists_every_extra():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [name for name in extras if not re.search(rf"^- `{re.escape(name)}`:", readme, re.MULTILINE)]
    assert not missing, f"README.md does not list the extras {missing}"


def test_the_readme_is_short():
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 80
