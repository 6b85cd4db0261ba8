"""The documentation is in step with the code: the CLI reference, the rules' citations, the links."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from factories import REPO

from vision_models import cli, cli_reference
from vision_models.pricing.image_tokens import FALLBACK, FAMILY_RULES, METHODS

CLI_DOC = REPO / "docs" / "cli.md"
OUT_OF_DATE = "docs/cli.md is out of date: run python -m vision_models.cli_reference > docs/cli.md"
MARKDOWN = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]

# --- the command-line reference ------------------------------------------------------------------


def _loose(text: str) -> str:
    """Help text with the differences argparse versions make normalised: line wrapping, and the
    metavar 3.13+ writes once after ``-x, --long`` where 3.11 writes ``-x ARG, --long ARG``."""
    text = re.sub(r"(-\w) ([A-Z_][A-Z0-9_.]*), (--[\w-]+) \2\b", r"\1, \3 \2", text)
    return " ".join(text.split())


def test_the_cli_reference_is_up_to_date():
    fresh, checked_in = cli_reference.render(), CLI_DOC.read_text(encoding="utf-8")
    if fresh != checked_in and _loose(fresh) != _loose(checked_in):
        pytest.fail(OUT_OF_DATE, pytrace=False)


def test_the_tolerance_is_only_for_wrapping_and_metavars():
    assert _loose("-o FILE, --out FILE  where\n   to write") == _loose("-o, --out FILE    where to write")
    assert _loose("--top N  bars to draw") != _loose("--top N  bars to drew")
    assert _loose("usage: x [--top N]") != _loose("usage: x [--top N] [--wide]")


def test_a_new_option_makes_the_reference_out_of_date(monkeypatch):
    before = cli_reference.render()

    def add_cache_with_a_new_option(commands):
        parser = commands.add_parser("cache", help="the HTTP cache: info or clear")
        parser.add_argument("--dry-run", action="store_true", help="say what would be cleared")

    monkeypatch.setitem(cli.COMMANDS, "cache", add_cache_with_a_new_option)
    after = cli_reference.render()
    assert "say what would be cleared" in after and _loose(after) != _loose(before)


def test_the_reference_does_not_follow_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "30")
    narrow = cli_reference.render()
    monkeypatch.setenv("COLUMNS", "300")
    assert cli_reference.render() == narrow
    assert max(len(line) for line in narrow.splitlines() if not line.startswith(("  --preset", "   "))) <= 120


def test_every_command_and_subcommand_has_a_section():
    text = CLI_DOC.read_text(encoding="utf-8")
    expected = ["vision-models", *(f"vision-models {name}" for name in cli.COMMANDS)]
    expected += ["vision-models history import", "vision-models history info"]
    expected += [f"vision-models trials {name}" for name in ("list", "show", "export")]
    assert sorted(re.findall(r"^## (.+)$", text, re.MULTILINE)) == sorted(expected)


def test_every_parser_is_found_once():
    found = [prog for prog, parser in cli_reference.commands()]
    assert len(found) == len(set(found)) == 1 + len(cli.COMMANDS) + 2 + 3
    assert all(isinstance(parser, argparse.ArgumentParser) for _, parser in cli_reference.commands())


# --- the rules cite files of the repository -------------------------------------------------------

_CITED_FILE = re.compile(r"(docs/[\w./-]+\.md)(?: §([^():;]+?))?(?=[):;]|$)")


def _headings(path: Path) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6} (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)]


def _names_heading(section: str, headings: list[str]) -> bool:
    """A section is named by its heading, or by the heading without its bracketed list of models."""
    return any(h == section or h.startswith(section + " (") for h in headings)


@pytest.mark.parametrize("rule", [*FAMILY_RULES, FALLBACK], ids=lambda r: f"{r.family}:{r.pattern}")
def test_a_rule_that_cites_the_design_note_names_a_file_and_section_in_the_repository(rule):
    citations = _CITED_FILE.findall(rule.source)
    if "design note" in rule.source.lower():
        assert "docs/design-note.md" in [path for path, _ in citations], rule.source
    for path, section in citations:
        assert (REPO / path).is_file(), f"{rule.family}: {path} is not in the repository"
        if section:
            assert _names_heading(section.strip(), _headings(REPO / path)), f"{path} has no heading {section!r}"


def test_the_citation_check_can_fail():
    headings = _headings(REPO / "docs" / "design-note.md")
    assert _names_heading("Qwen-VL", headings) and _names_heading("OpenAI, tile method", headings)
    assert not _names_heading("Qwen", headings) and not _names_heading("OpenAI", headings)
    assert _CITED_FILE.findall("x (design note: docs/design-note.md §Others); y") == [("docs/design-note.md", "Others")]


def test_the_package_points_at_no_file_outside_the_repository():
    for path in sorted((REPO / "vision_models").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "shared/design" not in text, f"{path.relative_to(REPO)} cites a note outside the repository"
        for cited in re.findall(r"docs/[\w./-]+\.md", text):
            assert (REPO / cited).is_file(), f"{path.relative_to(REPO)} cites {cited}, which does not exist"


def test_the_design_note_is_shipped_whole():
    note = (REPO / "docs" / "design-note.md").read_text(encoding="utf-8")
    for heading in (
        "Image token rules by family",
        "OpenAI, tile method",
        "Anthropic Claude",
        "Google Gemini",
        "Qwen-VL",
        "Mistral",
        "Meta Llama 4",
        "Others",
        "What a user sees",
    ):
        assert re.search(rf"^#+ {re.escape(heading)}", note, re.MULTILINE), heading
    assert "[gpt-4o: 765 and 765; gpt-4o-mini: 25,501 and 25,501]" in note  # a worked example, as written


def test_the_rules_page_covers_every_family_and_method():
    page = (REPO / "docs" / "image-token-rules.md").read_text(encoding="utf-8")
    families = {rule.family for rule in FAMILY_RULES} | {FALLBACK.family}
    missing = sorted(name for name in families | set(METHODS) if f"`{name}`" not in page)
    assert not missing, f"docs/image-token-rules.md does not name {missing}"


# --- links between the documents -------------------------------------------------------------------


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
    return text.replace(" ", "-")


def _links(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_lead_to_files_and_headings_that_exist(page):
    assert page.is_file(), page
    for link in _links(page):
        if re.match(r"[a-z]+:", link):
            continue  # a web address
        target, _, fragment = link.partition("#")
        file = (page.parent / target).resolve() if target else page
        assert file.is_file(), f"{page.name}: {link} leads to no file"
        if fragment and file.suffix == ".md":
            anchors = {_anchor(h) for h in _headings(file)}
            assert fragment in anchors, f"{page.name}: {link} names no heading of {file.name}"


def test_the_anchor_rule_matches_githubs():
    assert _anchor("Serving `/api/models` to a front-end") == "serving-apimodels-to-a-front-end"
    assert _anchor("OpenAI, tile method (gpt-4o, gpt-4.1)") == "openai-tile-method-gpt-4o-gpt-41"
    assert _anchor("`fetch_catalog` and `fetch_vision_models`") == "fetch_catalog-and-fetch_vision_models"
