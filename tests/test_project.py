"""The project's own promises: the same packages in pyproject.toml and environment.yml."""

from __future__ import annotations

import re
import tomllib

from factories import REPO


def _names(specs) -> set[str]:
    return {re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower() for spec in specs}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= _names(extra)
    listed = set()
    text = (REPO / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        match = re.match(r"\s+- ([A-Za-z][\w.-]*)", line)
        if match and not line.strip().startswith("- --"):
            listed.add(match.group(1).lower())
    listed -= {"python", "pip"}
    assert listed == wanted
