"""Pages to send: images and PDF pages loaded, sized and encoded exactly as a trial sends them.

>>> pages = load_pages(["invoice.png", "scans/contract.pdf"], dpi=200, max_side=2048)
>>> pages[1].name, pages[1].width_px, pages[1].height_px
('contract.pdf#p1', 1700, 2200)

- Images: PNG, JPEG, WebP, TIFF (also BMP, GIF). A PNG, JPEG or WebP that needs no change is sent
  as its own bytes; anything rotated (EXIF orientation), shrunk, transparent (flattened on white),
  animated (first frame) or in another format is re-encoded: JPEG stays JPEG (quality 92, so a
  photo does not balloon), everything else becomes PNG. A multi-frame TIFF gives one page per
  frame (``scan.tiff#p2``), like a PDF.
- PDFs: every page rendered with pypdfium2 at ``dpi`` (``contract.pdf#p1``, ``#p2``, ...), drawn
  straight at the size sent; a page without colour is sent as 8-bit grey PNG.
- Anything whose long side exceeds ``max_side`` is shrunk (aspect kept, whole pixels, LANCZOS);
  ``width_px`` / ``height_px`` are the size sent, which is what the estimate and the bill depend on.
- ``sha256`` identifies the page independently of rendering: the file's bytes for an image, the
  file's bytes + ``b"#page=N"`` for a page of a PDF or multi-frame TIFF. A stored trial row is
  found again from it whatever ``dpi`` / ``max_side`` were (those belong in the trial's parameters).
- Bad input is a ``ValueError`` naming the path. Images over Pillow's decompression-bomb limit
  (``Image.MAX_IMAGE_PIXELS``, about 89 million pixels) and PDF pages that would render larger
  are refused, and ``iter_pages`` makes pages one at a time, so memory stays bounded.
- ``scan_pages`` lists the same pages without making their images: name, hash and the size sent
  come from the PDF's page sizes and the image files' headers, and each image is made when asked
  for (``image``, ``data_url()``), only the last few kept, so a 2,000-page PDF costs kilobytes, not
  hundreds of megabytes, while it is planned and sent.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from .images import (  # noqa: F401 (JPEG_QUALITY, shrunk_size: names pages has always had)
    _UNDER,
    JPEG_QUALITY,
    _ceil,
    _check_pixels,
    _encode,
    _flattened,
    _grey_if_colourless,
    _has_alpha,
    _header_orientation,
    _orientation,
    _read_errors,
    _resizable,
    _stamp,
    shrunk_size,
)
from .page_files import PAGE_SUFFIXES, _check_positive_int, _is_pdf, _source_files, _unique_names
from .truth import MAX_TRUTH_BYTES, _truth_from_folder, _truth_from_mapping  # noqa: F401

#: Image formats read (Pillow's names) and the MIME type of those sent as they are.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF")
_SENT_AS_IS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample_pages"

PathLike = str | os.PathLike


@dataclass(frozen=True)
class Page:
    """One page as sent to a model: its identity, the encoded image and the size sent."""

    name: str
    path: str
    page_index: int
    sha256: str
    image: bytes = field(repr=False)
    mime: str
    width_px: int
    height_px: int

    def data_url(self) -> str:
        """The image as a ``data:`` URL, as the chat-completions body carries it."""
        return f"data:{self.mime};base64,{base64.b64encode(self.image).decode('ascii')}"

    def truth_stem(self) -> str:
        """The ground-truth file's stem: ``invoice`` for invoice.png, ``contract-p2`` for contract.pdf#p2."""
        base, sep, page = self.name.rpartition("#p")
        if not (sep and page.isdigit()):
            base, page = self.name, ""
        stem = base.rsplit(".", 1)[0] if "." in base.rsplit("/", 1)[-1] else base
        return f"{stem}-p{page}" if page else stem


@dataclass(frozen=True)
class _Source:
    """Where a scanned page's image is made from, and the file as it was when scanned."""

    path: str
    index: int
    pdf: bool
    dpi: int
    max_side: int
    whole_file: bool  # an image file of one frame: it may be sent as its own bytes
    stamp: tuple[int, int]  # (size, mtime_ns): a file changed since is refused, its hash would be stale


class LazyPage(Page):
    """A :class:`Page` whose image is made when asked for and not kept (``scan_pages``).

    Name, hash, MIME type and size are known without rendering, so a dry run and the planning of
    a trial never hold images; ``image`` renders (the last few are cached, see ``RENDER_CACHE_PAGES``).
    Equal pages compare and hash without rendering; ``dataclasses.replace`` does not apply to it.
    """

    _source: _Source  # set in __init__, as the fields are (the class is frozen)

    def __init__(self, name: str, path: str, page_index: int, sha256: str, mime: str, width_px: int, height_px: int,
                 *, source: _Source) -> None:  # fmt: skip
        known = dict(name=name, path=path, page_index=page_index, sha256=sha256, mime=mime, width_px=width_px,
                     height_px=height_px, _source=source)  # fmt: skip
        for key, value in known.items():
            object.__setattr__(self, key, value)

    @property
    def image(self) -> bytes:
        """The encoded image, made now (or taken from the few last made): exactly what ``load_pages`` gives."""
        return _rendered(self)

    def _identity(self) -> tuple:
        return (self.name, self.path, self.page_index, self.sha256, self.mime, self.width_px, self.height_px,
                self._source)  # fmt: skip

    def __eq__(self, other: object) -> bool:  # without rendering: the same source makes the same bytes
        return isinstance(other, LazyPage) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())


#: How many rendered pages are kept, so a page sent to a few models is rendered once.
RENDER_CACHE_PAGES = 4
_RENDERED: OrderedDict[tuple, bytes] = OrderedDict()
_RENDER_LOCK = threading.RLock()  # pdfium is not thread-safe, and trials render on pool threads


def load_pages(pages: PathLike | Sequence[PathLike], *, dpi: int = 200, max_side: int = 2048) -> list[Page]:
    """Load images and PDF pages (a path, a folder, or a sequence of them) as the pages a trial sends."""
    return list(iter_pages(pages, dpi=dpi, max_side=max_side))


def iter_pages(pages: PathLike | Sequence[PathLike], *, dpi: int = 200, max_side: int = 2048) -> Iterator[Page]:
    """``load_pages`` one page at a time, so a long PDF never sits in memory whole.

    The arguments and the list of files are checked before the first page is made; a file that
    turns out unreadable raises its ``ValueError`` when its turn comes.
    """
    _check_positive_int("dpi", dpi)
    _check_positive_int("max_side", max_side)
    files = _source_files(pages)
    names = _unique_names(files)
    return _pages_of(files, names, dpi=dpi, max_side=max_side)


def scan_pages(pages: PathLike | Sequence[PathLike], *, dpi: int = 200, max_side: int = 2048) -> list[Page]:
    """The pages ``load_pages`` gives, as :class:`LazyPage`: named, hashed and sized without rendering.

    A PDF page's size comes from its size in points, an image's from its header (a PNG whose
    metadata follows its pixels is decoded once to read it); the image is made when ``image`` or
    ``data_url()`` is called. An image whose pixels turn out unreadable, or a file changed since
    the scan, raises its ``ValueError`` then.
    """
    _check_positive_int("dpi", dpi)
    _check_positive_int("max_side", max_side)
    files = _source_files(pages)
    names = _unique_names(files)
    out: list[Page] = []
    for path, name in zip(files, names):
        scan = _scan_pdf if _is_pdf(path) else _scan_image
        out.extend(scan(path, name, dpi=dpi, max_side=max_side))
    return out


def _pages_of(files: list[Path], names: list[str], *, dpi: int, max_side: int) -> Iterator[Page]:
    for path, name in zip(files, names):
        loader = _pdf_pages if _is_pdf(path) else _image_pages
        yield from loader(path, name, dpi=dpi, max_side=max_side)


def sample_pages() -> list[Path]:
    """The sample pages bundled with the package; their ground truth sits beside them (``SAMPLE_DIR``)."""
    return sorted(p for p in SAMPLE_DIR.iterdir() if p.suffix.lower() in PAGE_SUFFIXES)


def load_truth(truth: PathLike | Mapping[Any, str] | None, pages: Sequence[Page]) -> dict[str, str]:
    """Ground truth per page name, from a folder of ``<truth_stem>.txt`` files or a dict.

    A dict's keys may be a page's name (``contract.pdf#p2``), its truth stem (``contract-p2``) or,
    for a file that gave a single page, its path. A key that names no page is a ``ValueError``.
    """
    if truth is None:
        return {}
    if isinstance(truth, Mapping):
        return _truth_from_mapping(truth, pages)
    if isinstance(truth, (str, os.PathLike)):
        return _truth_from_folder(Path(truth), pages)
    kind = type(truth).__name__
    raise ValueError(f"truth must be a folder of .txt files, a dict or None, not {kind}: {truth!r:.80}")


def _file_hash(path: Path) -> hashlib._Hash:
    """The sha256 of the file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return digest


def _page_hash(file_digest: hashlib._Hash, number: int | None) -> str:
    """The file's hash for a single-page file; the file's bytes + ``#page=N`` (1-based) otherwise."""
    digest = file_digest.copy()
    if number is not None:
        digest.update(f"#page={number}".encode("ascii"))
    return digest.hexdigest()


# --- rendering scanned pages -----------------------------------------------------------------


def _rendered(page: LazyPage) -> bytes:
    """The page's bytes: the few last made are kept; one page is made at a time (pdfium is not thread-safe)."""
    key = page._identity()
    with _RENDER_LOCK:
        data = _RENDERED.get(key)
        if data is not None:
            _RENDERED.move_to_end(key)
            return data
        data = _render(page)
        _RENDERED[key] = data
        while len(_RENDERED) > max(RENDER_CACHE_PAGES, 0):
            _RENDERED.popitem(last=False)
        return data


def _render(page: LazyPage) -> bytes:
    """Make the page as ``load_pages`` would, refusing a changed file and any size or type other than scanned."""
    source = page._source
    if _stamp(Path(source.path)) != source.stamp:
        raise ValueError(f"{source.path!r} changed since its pages were scanned: scan it again")
    data, mime, width, height = (_render_pdf if source.pdf else _render_image)(page)
    if (mime, width, height) != (page.mime, page.width_px, page.height_px):
        raise ValueError(
            f"{page.name}: made as {mime} {width}x{height} px, not the {page.mime} {page.width_px}x{page.height_px} px "
            "its scan gave"
        )
    return data


# --- images ----------------------------------------------------------------------------------


def _image_pages(path: Path, name: str, *, dpi: int, max_side: int) -> Iterator[Page]:
    del dpi  # images are sent at their own resolution, only shrunk
    for frame in _image_frames(path, name):
        with _read_errors(path):
            encoded = _encode_frame(path, frame.image, frame.fmt, max_side, whole_file=frame.whole_file)
        yield Page(frame.name, str(path), frame.index, frame.sha256, *encoded)


@dataclass(frozen=True)
class _Frame:
    """One frame of an image file, the file's image positioned on it."""

    index: int
    name: str
    sha256: str
    image: Image.Image
    fmt: str
    whole_file: bool  # the file's only frame: it may be sent as its own bytes


def _image_frames(path: Path, name: str) -> Iterator[_Frame]:
    """Each frame of an image file (a multi-frame TIFF gives several, named ``#pN``), hashed once for the file."""
    digest = _file_hash(path)
    with _open_image(path) as im:
        fmt = im.format or ""
        frames = getattr(im, "n_frames", 1) if fmt == "TIFF" else 1
        whole_file = frames == 1 and not getattr(im, "is_animated", False)
        for index in range(frames):
            number = index + 1 if frames > 1 else None
            with _read_errors(path):
                im.seek(index)
            yield _Frame(
                index, f"{name}#p{number}" if number else name, _page_hash(digest, number), im, fmt, whole_file
            )


def _scan_image(path: Path, name: str, *, dpi: int, max_side: int) -> Iterator[Page]:
    """``_image_pages`` without encoding: each frame's MIME type and size sent, from the header."""
    stamp = _stamp(path)
    for frame in _image_frames(path, name):
        with _read_errors(path):
            mime, width, height = _frame_plan(path, frame.image, frame.fmt, max_side, whole_file=frame.whole_file)
        source = _Source(str(path), frame.index, False, dpi, max_side, frame.whole_file, stamp)
        yield LazyPage(frame.name, str(path), frame.index, frame.sha256, mime, width, height, source=source)


def _frame_plan(path: Path, frame: Image.Image, fmt: str, max_side: int, *, whole_file: bool) -> tuple[str, int, int]:
    """The MIME type and size ``_encode_frame`` will send for this frame, decided from the header alone."""
    _check_pixels(repr(str(path)), frame.size)
    orientation = _header_orientation(path, frame, fmt)
    upright = (frame.size[1], frame.size[0]) if orientation in (5, 6, 7, 8) else frame.size
    rotated = orientation not in (None, 1)
    target = shrunk_size(upright, max_side)
    if whole_file and fmt in _SENT_AS_IS and not (rotated or _has_alpha(frame)) and target == upright:
        return _SENT_AS_IS[fmt], *upright
    return ("image/jpeg" if fmt in ("JPEG", "MPO") else "image/png"), *target


def _render_image(page: LazyPage) -> tuple[bytes, str, int, int]:
    source = page._source
    path = Path(source.path)
    with _open_image(path) as im:
        fmt = im.format or ""
        with _read_errors(path):
            im.seek(source.index)
            return _encode_frame(path, im, fmt, source.max_side, whole_file=source.whole_file)


def _open_image(path: Path) -> Image.Image:
    """The image opened (header only), with Pillow's decompression-bomb warning taken as an error."""
    with _read_errors(path), warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(path, formats=IMAGE_FORMATS)


def _encode_frame(
    path: Path, frame: Image.Image, fmt: str, max_side: int, *, whole_file: bool
) -> tuple[bytes, str, int, int]:
    """The bytes to send for one frame: the file itself when nothing changes, else re-encoded.

    Re-encoded when rotated by its EXIF orientation, shrunk, transparent (flattened on white: a
    model may otherwise see black text on a black background), an MPO (a camera JPEG carrying
    extra images), or not PNG/JPEG/WebP.
    """
    _check_pixels(repr(str(path)), frame.size)  # before decoding: a later TIFF frame may be huge
    frame.load()
    upright = ImageOps.exif_transpose(frame)
    rotated = upright.size != frame.size or _orientation(frame) not in (None, 1)
    target = shrunk_size(upright.size, max_side)
    transparent = _has_alpha(upright)
    if whole_file and fmt in _SENT_AS_IS and not (rotated or transparent) and target == upright.size:
        return path.read_bytes(), _SENT_AS_IS[fmt], *upright.size
    image = _flattened(upright) if transparent else upright
    if target != image.size:
        image = _resizable(image).resize(target, Image.Resampling.LANCZOS)
    if fmt in ("JPEG", "MPO"):
        return _encode(image, "JPEG"), "image/jpeg", *target
    return _encode(image, "PNG"), "image/png", *target


# --- PDFs ------------------------------------------------------------------------------------


def _pdf_pages(path: Path, name: str, *, dpi: int, max_side: int) -> Iterator[Page]:
    digest = _file_hash(path)
    doc = _open_pdf(path)
    try:
        count = len(doc)
        if count == 0:
            raise ValueError(f"the PDF {str(path)!r} has no pages")
        for index in range(count):
            number = index + 1
            image = _render_pdf_page(doc, index, f"page {number} of {str(path)!r}", dpi, max_side)
            encoded = _encode(_grey_if_colourless(image), "PNG")
            sha256 = _page_hash(digest, number)
            yield Page(f"{name}#p{number}", str(path), index, sha256, encoded, "image/png", *image.size)
    finally:
        with _RENDER_LOCK:
            doc.close()


def _open_pdf(path: Path) -> Any:
    import pypdfium2 as pdfium

    try:
        with _RENDER_LOCK:
            return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        reason = "encrypted (a password is needed)" if "password" in str(exc).lower() else str(exc)
        raise ValueError(f"cannot open the PDF {str(path)!r}: {reason}") from None


def _scan_pdf(path: Path, name: str, *, dpi: int, max_side: int) -> Iterator[Page]:
    """``_pdf_pages`` without rendering: each page's size sent, from its size in points."""
    stamp = _stamp(path)
    digest = _file_hash(path)  # once for the file; each page adds its number to a copy
    with _RENDER_LOCK:
        doc = _open_pdf(path)
        try:
            sizes = [
                _pdf_page_size(doc, index, f"page {index + 1} of {str(path)!r}", dpi, max_side)
                for index in range(len(doc))
            ]
        finally:
            doc.close()
    if not sizes:
        raise ValueError(f"the PDF {str(path)!r} has no pages")
    for index, (width, height) in enumerate(sizes):
        number = index + 1
        source = _Source(str(path), index, True, dpi, max_side, False, stamp)
        yield LazyPage(f"{name}#p{number}", str(path), index, _page_hash(digest, number), "image/png", width, height,
                       source=source)  # fmt: skip


def _pdf_page_size(doc: Any, index: int, what: str, dpi: int, max_side: int) -> tuple[int, int]:
    """The size ``_render_pdf_page`` will draw a page at, read from the page's size without loading it."""
    import pypdfium2 as pdfium

    try:
        width, height = doc.get_page_size(index)
    except pdfium.PdfiumError as exc:
        raise ValueError(f"cannot read {what}: {exc}") from None
    _, target = _pdf_sizes(width, height, dpi, max_side)
    _check_pixels(f"{what} at {dpi} dpi (use a lower dpi or max_side)", target)
    return target


def _pdf_sizes(width_pt: float, height_pt: float, dpi: int, max_side: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """A page's size at ``dpi`` and the size sent (shrunk to ``max_side``), in whole pixels."""
    scale = dpi / 72
    full = (_ceil(width_pt * scale), _ceil(height_pt * scale))
    return full, shrunk_size(full, max_side)


def _render_pdf(page: LazyPage) -> tuple[bytes, str, int, int]:
    source = page._source
    path = Path(source.path)
    doc = _open_pdf(path)
    try:
        image = _render_pdf_page(
            doc, source.index, f"page {source.index + 1} of {str(path)!r}", source.dpi, source.max_side
        )
    finally:
        with _RENDER_LOCK:
            doc.close()
    return _encode(_grey_if_colourless(image), "PNG"), "image/png", *image.size


def _render_pdf_page(doc: Any, index: int, what: str, dpi: int, max_side: int) -> Image.Image:
    """One page at ``dpi``, shrunk to ``max_side``: rendered at the final size, never larger.

    The size is points x dpi / 72 rounded up, as pdfium rounds (float noise aside: an A4 page at
    150 dpi is 1240 px wide, not 1241), shrunk by ``shrunk_size``. Drawing straight at that size
    keeps text sharp, takes a fraction of the time and bounds memory whatever the page's size in
    points. A size over the pixel limit is refused.
    """
    import pypdfium2 as pdfium

    scale = dpi / 72
    try:
        with _RENDER_LOCK:  # pdfium is not thread-safe
            page = doc[index]
            try:
                full, target = _pdf_sizes(page.get_width(), page.get_height(), dpi, max_side)
                _check_pixels(f"{what} at {dpi} dpi (use a lower dpi or max_side)", target)
                bitmap = page.render(scale=scale * min(1.0, max(target) / max(full)) * _UNDER)
                try:
                    image = bitmap.to_pil()
                finally:
                    bitmap.close()
            finally:
                page.close()
    except pdfium.PdfiumError as exc:
        raise ValueError(f"cannot render {what}: {exc}") from None
    if image.size != target:  # a pixel of rounding
        image = image.resize(target, Image.Resampling.LANCZOS)
    return image
