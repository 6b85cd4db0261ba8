"""Which files a trial's ``pages`` name: paths, folders (their page files, sorted), each given a unique page name."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

#: File suffixes picked up from a folder (case-insensitive).
PAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".pdf")


# --- sources ---------------------------------------------------------------------------------


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive whole number, not {value!r}")


def _source_files(pages: object) -> list[Path]:
    """The files to load, in order: folders expanded to their page files sorted by name, repeats dropped."""
    if isinstance(pages, (str, os.PathLike)):
        given: Iterable[object] = [pages]
    elif isinstance(pages, Iterable) and not isinstance(pages, (bytes, Mapping)):
        given = list(pages)
    else:
        raise ValueError(f"pages must be a path or a list of paths, not {type(pages).__name__}: {pages!r:.80}")
    files: list[Path] = []
    for item in given:
        if not isinstance(item, (str, os.PathLike)):
            raise ValueError(f"a page must be a path, not {type(item).__name__}: {item!r:.80}")
        files.extend(_expand(Path(item)))
    if not files:
        raise ValueError(f"no pages given: {pages!r:.80}")
    seen: set[Path] = set()
    unique = []
    for path in files:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        try:
            found = sorted(
                (p for p in path.iterdir() if _is_page_file(p)),
                key=lambda p: p.name,
            )
        except OSError as exc:
            raise ValueError(f"cannot read the folder {str(path)!r}: {exc.strerror or exc}") from None
        if not found:
            raise ValueError(f"the folder {str(path)!r} holds no image or PDF files ({', '.join(PAGE_SUFFIXES)})")
        return found
    if not path.exists():
        raise ValueError(f"no such file: {str(path)!r}")
    if not path.is_file():
        raise ValueError(f"not a file: {str(path)!r}")
    return [path]


def _is_page_file(path: Path) -> bool:
    return path.suffix.lower() in PAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()


def _unique_names(files: list[Path]) -> list[str]:
    """File names, lengthened with parent folders where two different files share a name."""
    names = [p.name for p in files]
    for name in set(names):
        group = [i for i, n in enumerate(names) if n == name]
        if len(group) < 2:
            continue
        parts = {i: files[i].resolve().parts for i in group}
        depth = 2
        while len({parts[i][-depth:] for i in group}) < len(group):
            depth += 1
        for i in group:
            names[i] = "/".join(parts[i][-depth:]).lstrip("/")
    return names


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(5) == b"%PDF-"
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
