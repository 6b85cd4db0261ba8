"""Pages as sent: names, sizes (from dpi and max_side, computed by hand), hashes, encodings, bad input, truth."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import re
import sys
from pathlib import Path

import PIL
import pytest
from PIL import Image, ImageChops, ImageDraw

from vision_models.trials.pages import SAMPLE_DIR, Page, iter_pages, load_pages, load_truth, sample_pages


def _png(path: Path, size=(300, 200), colour="white", mode="RGB") -> Path:
    Image.new(mode, size, colour).save(path)
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decoded(page: Page) -> Image.Image:
    return Image.open(io.BytesIO(page.image))


def _pdf(path: Path, pages: int = 3, size=(850, 1100), resolution=100) -> Path:
    """A PDF of `pages` Letter pages (850 x 1100 px at 100 dpi = 612 x 792 pt), each numbered."""
    images = []
    for n in range(1, pages + 1):
        im = Image.new("RGB", size, "white")
        ImageDraw.Draw(im).text((100, 100), f"page {n}", fill="black")
        images.append(im)
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=resolution)
    return path


# --- images --------------------------------------------------------------------------------


def test_a_png_that_fits_is_sent_as_its_own_bytes(tmp_path):
    path = _png(tmp_path / "invoice.png")
    [page] = load_pages(path)
    data = path.read_bytes()
    assert (page.name, page.path, page.page_index) == ("invoice.png", str(path), 0)
    assert page.image == data and page.mime == "image/png"
    assert page.sha256 == _sha(data)
    assert (page.width_px, page.height_px) == (300, 200)
    assert page.truth_stem() == "invoice"
    assert page.data_url() == "data:image/png;base64," + base64.b64encode(data).decode()


@pytest.mark.parametrize(("fmt", "suffix", "mime"), [("JPEG", ".jpg", "image/jpeg"), ("WEBP", ".webp", "image/webp")])
def test_jpeg_and_webp_that_fit_are_sent_unchanged(tmp_path, fmt, suffix, mime):
    path = tmp_path / f"photo{suffix}"
    Image.new("RGB", (640, 480), "grey").save(path, fmt)
    [page] = load_pages(str(path))
    assert page.mime == mime and page.image == path.read_bytes()
    assert (page.width_px, page.height_px) == (640, 480)


def test_a_large_image_is_shrunk_to_max_side_keeping_its_aspect(tmp_path):
    path = _png(tmp_path / "wide.png", size=(3000, 1000))
    [page] = load_pages(path, max_side=2048)
    # 1000 * 2048 / 3000 = 682.67 -> 683 whole pixels
    assert (page.width_px, page.height_px) == (2048, 683)
    assert _decoded(page).size == (2048, 683)
    assert page.mime == "image/png"
    assert page.sha256 == _sha(path.read_bytes())  # identity does not depend on the size sent


def test_a_tall_image_is_shrunk_on_its_long_side(tmp_path):
    path = _png(tmp_path / "tall.png", size=(1001, 3001))
    [page] = load_pages(path, max_side=1000)
    # 1001 * 1000 / 3001 = 333.56 -> 334
    assert (page.width_px, page.height_px) == (334, 1000)
    assert _decoded(page).size == (334, 1000)


def test_a_shrunk_jpeg_stays_jpeg(tmp_path):
    path = tmp_path / "phone.jpg"
    Image.new("RGB", (4032, 3024), "grey").save(path, "JPEG")
    [page] = load_pages(path, max_side=2048)
    # 3024 * 2048 / 4032 = 1536 exactly
    assert (page.width_px, page.height_px) == (2048, 1536)
    assert page.mime == "image/jpeg" and _decoded(page).format == "JPEG"


def test_a_palette_image_is_shrunk_smoothly_not_by_nearest_neighbour(tmp_path):
    # Black and white vertical stripes one pixel wide; halved, a smooth filter gives mid-grey.
    im = Image.new("L", (400, 10))
    im.putdata([255 * (x % 2) for _y in range(10) for x in range(400)])
    path = tmp_path / "stripes.png"
    im.quantize(colors=2).save(path)
    [page] = load_pages(path, max_side=200)
    grey = _decoded(page).convert("L")
    assert grey.size == (200, 5)
    assert 100 <= grey.getpixel((100, 2)) <= 155


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    Image.new("RGB", (200, 100), "white").save(path, "JPEG", exif=exif)
    [page] = load_pages(path)
    assert (page.width_px, page.height_px) == (100, 200)
    assert _decoded(page).size == (100, 200)
    assert page.image != path.read_bytes()


def test_a_tiff_is_reencoded_as_png(tmp_path):
    path = tmp_path / "scan.tif"
    Image.new("L", (500, 700), 255).save(path, "TIFF")
    [page] = load_pages(path)
    assert page.name == "scan.tif" and page.mime == "image/png"
    assert _decoded(page).format == "PNG" and _decoded(page).size == (500, 700)
    assert page.sha256 == _sha(path.read_bytes())


def test_a_multi_frame_tiff_gives_a_page_per_frame(tmp_path):
    path = tmp_path / "scan.tiff"
    frames = [Image.new("L", (300 + 10 * n, 400), 255) for n in range(3)]
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:])
    pages = load_pages(path)
    data = path.read_bytes()
    assert [p.name for p in pages] == ["scan.tiff#p1", "scan.tiff#p2", "scan.tiff#p3"]
    assert [p.page_index for p in pages] == [0, 1, 2]
    assert [p.width_px for p in pages] == [300, 310, 320]
    assert [p.sha256 for p in pages] == [_sha(data + f"#page={n}".encode()) for n in (1, 2, 3)]
    assert pages[1].truth_stem() == "scan-p2"


def test_sixteen_bit_greys_are_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.tiff"
    Image.new("I;16", (50, 50), 32768).save(path, "TIFF")  # mid-grey on a 16-bit scale
    [page] = load_pages(path)
    assert 120 <= _decoded(page).convert("L").getpixel((10, 10)) <= 135


# --- PDFs ----------------------------------------------------------------------------------


def test_a_pdf_of_three_pages_gives_three_pages_sized_by_dpi(tmp_path):
    path = _pdf(tmp_path / "contract.pdf")
    data = path.read_bytes()
    pages = load_pages(path, dpi=100)
    assert [p.name for p in pages] == ["contract.pdf#p1", "contract.pdf#p2", "contract.pdf#p3"]
    assert [p.page_index for p in pages] == [0, 1, 2]
    assert {p.path for p in pages} == {str(path)}
    # 612 x 792 pt at 100 dpi: 612 * 100 / 72 = 850, 792 * 100 / 72 = 1100
    assert {(p.width_px, p.height_px) for p in pages} == {(850, 1100)}
    assert all(_decoded(p).size == (850, 1100) and p.mime == "image/png" for p in pages)
    assert [p.sha256 for p in pages] == [_sha(data + f"#page={n}".encode()) for n in (1, 2, 3)]
    assert len({p.image for p in pages}) == 3  # each page's own content
    assert [p.truth_stem() for p in pages] == ["contract-p1", "contract-p2", "contract-p3"]


def test_pdf_dpi_and_max_side_set_the_size_sent_but_not_the_identity(tmp_path):
    path = _pdf(tmp_path / "letter.pdf", pages=1)
    [at_200] = load_pages(path, dpi=200, max_side=4000)
    assert (at_200.width_px, at_200.height_px) == (1700, 2200)  # 8.5 x 11 in at 200 dpi
    [shrunk] = load_pages(path, dpi=200, max_side=1000)
    # 1700 * 1000 / 2200 = 772.7 -> 773
    assert (shrunk.width_px, shrunk.height_px) == (773, 1000)
    assert _decoded(shrunk).size == (773, 1000)
    assert at_200.sha256 == shrunk.sha256 == load_pages(path, dpi=72)[0].sha256


def test_an_a4_pdf_page_at_150_dpi_is_1240_by_1754(tmp_path):
    path = tmp_path / "a4.pdf"
    Image.new("RGB", (1240, 1754), "white").save(path, "PDF", resolution=150)  # 595.2 x 841.92 pt
    # 595.2 * 150 / 72 = 1240 and 841.92 * 150 / 72 = 1754 (to within float noise)
    [page] = load_pages(path, dpi=150)
    assert (page.width_px, page.height_px) == (1240, 1754)
    assert _decoded(page).size == (1240, 1754)


def test_an_encrypted_pdf_is_refused_by_name(tmp_path):
    data = _pdf(tmp_path / "plain.pdf", pages=1).read_bytes()
    # Incremental update adding a Standard-handler Encrypt dictionary that no password opens.
    start = len(data) + 1
    enc = b"7 0 obj<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <%s> /U <%s> >>endobj\n"
    enc %= (b"11" * 32, b"22" * 32)
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    trailer = b"<< /Root %s /Size 8 /Encrypt 7 0 R /ID [<%s><%s>] /Prev %d >>"
    update = b"\n" + enc + b"xref\n7 1\n%010d 00000 n \ntrailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF"
    update %= (
        start,
        re.search(rb"/Root (\d+ \d+ R)", data).group(1),
        b"ab" * 16,
        b"ab" * 16,
        prev,
        start + len(enc),
    )
    path = tmp_path / "secret.pdf"
    path.write_bytes(data + update)
    with pytest.raises(ValueError, match=r"secret\.pdf.*encrypted"):
        load_pages(path)


def test_a_corrupt_pdf_is_refused_by_name(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\nthis is not a PDF body at all\n")
    with pytest.raises(ValueError, match=r"broken\.pdf"):
        load_pages(path)


def test_a_pdf_page_too_large_to_render_is_refused(tmp_path, monkeypatch):
    path = _pdf(tmp_path / "poster.pdf", pages=1)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    # 850 x 1100 = 935,000 px at 100 dpi fits; 1700 x 2200 at 200 dpi does not.
    assert len(load_pages(path, dpi=100)) == 1
    with pytest.raises(ValueError, match=r"page too large \(1700x2200 px\): page 1 of .*poster\.pdf.* at 200 dpi"):
        load_pages(path, dpi=200, max_side=4000)
    # shrunk to max_side it is drawn at 773 x 1000 = 773,000 px and fits
    assert (load_pages(path, dpi=200, max_side=1000)[0].height_px) == 1000


def test_a_huge_pdf_page_is_drawn_at_the_size_sent(tmp_path):
    path = tmp_path / "poster.pdf"
    Image.new("RGB", (1000, 500), "white").save(path, "PDF", resolution=10)  # 100 x 50 inches: 7200 x 3600 pt
    # at 200 dpi that is 20,000 x 10,000 px (200 million, over Pillow's limit); the page sent is 2048 x 1024
    [page] = load_pages(path, dpi=200)
    assert (page.width_px, page.height_px) == (2048, 1024)
    assert _decoded(page).size == (2048, 1024)


def test_a_pdf_page_keeps_its_colour_and_a_grey_one_is_sent_grey(tmp_path):
    path = tmp_path / "mixed.pdf"
    grey, red = Image.new("RGB", (850, 1100), "white"), Image.new("RGB", (850, 1100), "white")
    ImageDraw.Draw(grey).rectangle((100, 100, 300, 300), fill=(90, 90, 90))
    ImageDraw.Draw(red).rectangle((100, 100, 300, 300), fill=(200, 0, 0))
    grey.save(path, "PDF", save_all=True, append_images=[red], resolution=100)
    first, second = load_pages(path, dpi=100)
    assert _decoded(first).mode == "L" and _decoded(first).getpixel((200, 200)) == 90
    assert _decoded(second).mode == "RGB" and _decoded(second).getpixel((200, 200)) == (200, 0, 0)


# --- folders, lists, names -----------------------------------------------------------------


def test_a_folder_gives_its_page_files_sorted_by_name(tmp_path):
    _png(tmp_path / "b.png")
    _pdf(tmp_path / "a.pdf", pages=2)
    Image.new("RGB", (10, 10)).save(tmp_path / "c.JPG", "JPEG")
    (tmp_path / "notes.txt").write_text("not a page")
    _png(tmp_path / ".hidden.png")
    names = [p.name for p in load_pages(tmp_path)]
    assert names == ["a.pdf#p1", "a.pdf#p2", "b.png", "c.JPG"]


def test_a_list_keeps_its_order_and_drops_repeats(tmp_path):
    a, b = _png(tmp_path / "a.png"), _png(tmp_path / "b.png")
    assert [p.name for p in load_pages([b, str(a), a])] == ["b.png", "a.png"]


def test_files_sharing_a_name_are_told_apart_by_their_folders(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    first = _png(tmp_path / "x" / "page.png")
    second = _png(tmp_path / "y" / "page.png", colour="black")
    pages = load_pages([first, second])
    assert [p.name for p in pages] == ["x/page.png", "y/page.png"]
    assert [p.truth_stem() for p in pages] == ["x/page", "y/page"]


@pytest.mark.parametrize(
    ("named", "value"),
    [("dpi", 0), ("dpi", 150.5), ("dpi", True), ("max_side", -1), ("max_side", "2048")],
)
def test_bad_dpi_or_max_side_is_refused_by_name(tmp_path, named, value):
    path = _png(tmp_path / "a.png")
    with pytest.raises(ValueError, match=rf"^{named} must be a positive whole number, not {re.escape(repr(value))}$"):
        load_pages(path, **{named: value})


def test_bad_paths_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"no such file: .*missing\.png"):
        load_pages(tmp_path / "missing.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("plain text, not a page")
    with pytest.raises(ValueError, match=r"unsupported or unreadable image: .*notes\.txt"):
        load_pages(notes)
    gif_named_png = tmp_path / "fake.png"
    gif_named_png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(ValueError, match=r"fake\.png"):
        load_pages(gif_named_png)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"the folder .*empty.* holds no image or PDF files"):
        load_pages(empty)
    with pytest.raises(ValueError, match="pages must be a path or a list of paths, not int"):
        load_pages(42)
    with pytest.raises(ValueError, match="a page must be a path, not NoneType"):
        load_pages([None])
    with pytest.raises(ValueError, match="no pages given"):
        load_pages([])


def test_a_truncated_image_is_refused_by_name(tmp_path):
    good = _png(tmp_path / "good.png", size=(400, 400), mode="RGB")
    im = Image.effect_noise((400, 400), 64)  # noise does not compress, so a cut file misses pixel data
    im.save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"corrupt or unreadable image .*cut\.png"):
        load_pages(cut)


def test_a_decompression_bomb_is_refused_by_name(tmp_path, monkeypatch):
    path = _png(tmp_path / "bomb.png", size=(1200, 1000))  # 1.2 million pixels of one colour: a tiny file
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(ValueError, match=r"page too large.*bomb\.png.*1,000,000 pixels"):
        load_pages(path)


# --- ground truth --------------------------------------------------------------------------


@pytest.fixture
def two_sources(tmp_path):
    return load_pages([_png(tmp_path / "invoice.png"), _pdf(tmp_path / "contract.pdf", pages=2)], dpi=36)


def test_truth_from_a_folder_by_truth_stem(tmp_path, two_sources):
    folder = tmp_path / "truth"
    folder.mkdir()
    (folder / "invoice.txt").write_text("Invoice 42\n", encoding="utf-8")
    (folder / "contract-p2.txt").write_text("Clause 7 \u00e9t\u00e9\n", encoding="utf-8")
    (folder / "unrelated.txt").write_text("ignored")
    truth = load_truth(folder, two_sources)
    assert truth == {"invoice.png": "Invoice 42\n", "contract.pdf#p2": "Clause 7 \u00e9t\u00e9\n"}
    assert load_truth(str(folder), two_sources) == truth
    assert load_truth(None, two_sources) == {}


def test_truth_from_a_dict_by_name_stem_or_path(tmp_path, two_sources):
    truth = load_truth({"contract.pdf#p1": "one", "contract-p2": "two", tmp_path / "invoice.png": "inv"}, two_sources)
    assert truth == {"contract.pdf#p1": "one", "contract.pdf#p2": "two", "invoice.png": "inv"}
    assert load_truth({str(tmp_path / "invoice.png"): "inv"}, two_sources) == {"invoice.png": "inv"}


def test_bad_truth_is_refused_by_name(tmp_path, two_sources):
    with pytest.raises(ValueError, match=r"truth key 'invocie' names no page"):
        load_truth({"invocie": "x"}, two_sources)
    with pytest.raises(ValueError, match=r"contract\.pdf.* names a file of 2 pages"):
        load_truth({tmp_path / "contract.pdf": "x"}, two_sources)
    with pytest.raises(ValueError, match=r"truth for 'invoice.png' must be text, not int"):
        load_truth({"invoice.png": 3}, two_sources)
    with pytest.raises(ValueError, match=r"truth folder not found.*nowhere"):
        load_truth(tmp_path / "nowhere", two_sources)
    with pytest.raises(ValueError, match="truth must be a folder of .txt files, a dict or None, not list"):
        load_truth(["invoice.txt"], two_sources)
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / "invoice.txt").write_bytes("caf\u00e9".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8 text: .*invoice\.txt"):
        load_truth(folder, two_sources)


# --- the bundled sample pages --------------------------------------------------------------


def _make_samples():
    script = Path(__file__).resolve().parents[1] / "tools" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_samples", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_sample_pages_are_few_small_and_each_has_its_truth():
    files = sample_pages()
    assert 3 <= len(files) <= 5
    shipped = files + [f.with_suffix(".txt") for f in files]
    assert all(f.is_file() for f in shipped)
    assert sum(f.stat().st_size for f in shipped) < 300_000
    pages = load_pages(files)
    assert {(p.width_px, p.height_px) for p in pages} == {(1240, 1754)}
    assert set(load_truth(SAMPLE_DIR, pages)) == {p.name for p in pages}


def test_sample_truth_files_are_the_text_the_script_draws():
    make = _make_samples()
    assert sorted(f"{name}.png" for name in make.SAMPLES) == [f.name for f in sample_pages()]
    for name, rows in make.SAMPLES.items():
        drawn = [r.text for r in rows]
        assert (SAMPLE_DIR / f"{name}.txt").read_text(encoding="utf-8").split("\n")[:-1] == drawn
        assert all(line.isascii() for line in drawn)  # the bundled font draws ASCII only


def test_sample_pages_are_what_the_script_renders():
    """Re-render each page and compare pixels: a page whose text changed without re-rendering fails.

    With the Pillow release that rendered them (recorded in the PNG) the pixels must be identical.
    Font rasterising may differ a little between releases, so with another one only pixels that
    differ strongly (more than a quarter of the grey range) count, and a few hundred are tolerated
    (one changed digit makes about 50).
    """
    make = _make_samples()
    for name in make.SAMPLES:
        with Image.open(SAMPLE_DIR / f"{name}.png") as png:
            same_release = png.text.get("Software") == f"Pillow {PIL.__version__}"
            shipped = png.convert("L")
        fresh = make.render_sample(name).quantize(colors=16).convert("L")
        assert shipped.size == fresh.size
        strong = sum(ImageChops.difference(shipped, fresh).histogram()[65:])
        limit = 0 if same_release else 300
        assert strong <= limit, f"{name}.png differs from what make_samples.py draws in {strong} pixels: re-run it"
        if same_release:
            assert ImageChops.difference(shipped, fresh).getbbox() is None


# --- transparency, camera files, laziness --------------------------------------------------


def test_a_transparent_image_is_flattened_on_white(tmp_path):
    path = tmp_path / "cutout.png"
    im = Image.new("RGBA", (120, 60), (0, 0, 0, 0))  # transparent black everywhere...
    ImageDraw.Draw(im).rectangle((10, 10, 30, 30), fill=(0, 0, 0, 255))  # ...but one opaque black square
    im.save(path)
    [page] = load_pages(path)
    sent = _decoded(page)
    assert page.mime == "image/png" and sent.mode == "RGB"
    assert sent.getpixel((100, 50)) == (255, 255, 255)
    assert sent.getpixel((20, 20)) == (0, 0, 0)


def test_a_camera_mpo_is_sent_as_a_plain_jpeg_of_its_first_image(tmp_path):
    path = tmp_path / "camera.jpg"
    first, second = Image.new("RGB", (320, 240), "white"), Image.new("RGB", (320, 240), "black")
    first.save(path, "MPO", save_all=True, append_images=[second])
    assert Image.open(path).format == "MPO"
    [page] = load_pages(path)
    sent = _decoded(page)
    assert page.mime == "image/jpeg" and sent.format == "JPEG" and getattr(sent, "n_frames", 1) == 1
    assert sent.size == (320, 240) and sent.getpixel((5, 5)) == (255, 255, 255)
    assert page.sha256 == _sha(path.read_bytes())


def test_iter_pages_checks_arguments_at_once_and_reads_files_as_it_goes(tmp_path):
    _png(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="dpi must be"):
        iter_pages(tmp_path, dpi=-5)
    with pytest.raises(ValueError, match="no such file"):
        iter_pages([tmp_path / "a.png", tmp_path / "gone.png"])
    pages = iter_pages(tmp_path)
    assert next(pages).name == "a.png"
    with pytest.raises(ValueError, match=r"b\.png"):
        next(pages)


# --- scanned pages: known without rendering, made when sent -------------------------------

from vision_models.trials import pages as pages_module  # noqa: E402
from vision_models.trials.pages import scan_pages  # noqa: E402

#: Page sizes in points (width, height, rotation): Letter, A4 as Pillow and as ISO give it, A3, A5,
#: a strip, a banner, a postage stamp, a quarter-turned page, one a point wide.
PDF_SIZES = [(612, 792, 0), (595.2, 841.92, 0), (595.28, 841.89, 0), (841.89, 1190.55, 0), (419.53, 595.28, 0),
             (100.5, 3000.3, 0), (3000, 50, 0), (72.1, 72.1, 0), (612, 792, 90), (1, 500, 0)]  # fmt: skip


def _sized_pdf(path: Path, sizes=PDF_SIZES) -> Path:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    for width, height, rotation in sizes:
        page = doc.new_page(width, height)
        page.set_rotation(rotation)
        page.close()
    doc.save(str(path))
    doc.close()
    return path


def _stop_rendering(monkeypatch) -> list[str]:
    """Rendering, encoding or decoding pixels raises, and is listed (in case the code swallows the error)."""
    made: list[str] = []

    def refuse(name):
        def refused(*args, **kwargs):
            made.append(name)
            raise AssertionError(f"{name} while scanning")

        return refused

    monkeypatch.setattr(pages_module, "_render_pdf_page", refuse("rendered"))
    monkeypatch.setattr(pages_module, "_encode_frame", refuse("encoded"))
    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", refuse("decoded"))
    return made


@pytest.mark.parametrize(
    ("dpi", "max_side"), [(72, 4096), (96, 2048), (150, 2048), (200, 2048), (200, 1000), (300, 64)]
)
def test_a_scanned_pdf_page_has_the_size_its_rendering_has(tmp_path, dpi, max_side):
    path = _sized_pdf(tmp_path / "sizes.pdf")
    scanned = scan_pages(path, dpi=dpi, max_side=max_side)
    rendered = load_pages(path, dpi=dpi, max_side=max_side)
    assert len(scanned) == len(PDF_SIZES)
    for lazy, page in zip(scanned, rendered):
        assert _decoded(page).size == (lazy.width_px, lazy.height_px), (lazy.name, dpi, max_side)
        assert (lazy.name, lazy.sha256, lazy.mime) == (page.name, page.sha256, page.mime)
        assert lazy.image == page.image  # made when asked: the very bytes load_pages gives


def test_scanned_pdf_sizes_computed_by_hand(tmp_path):
    path = _sized_pdf(tmp_path / "sizes.pdf", [(612, 792, 0), (612, 792, 90), (595.2, 841.92, 0), (7200, 3600, 0)])

    # Letter at 200 dpi: 612 x 200 / 72 = 1700, 792 x 200 / 72 = 2200; turned a quarter, 2200 x 1700.
    # A4 at 150 dpi: 1240 x 1754. 7200 x 3600 pt at 200 dpi is 20,000 x 10,000, shrunk to 2048 x 1024.
    def sizes(**options):
        return [(p.width_px, p.height_px) for p in scan_pages(path, **options)]

    assert sizes(dpi=200, max_side=4096)[:2] == [(1700, 2200), (2200, 1700)]
    assert sizes(dpi=150)[2] == (1240, 1754)
    assert sizes(dpi=200)[3] == (2048, 1024)
    # Letter at 200 dpi in 1000 px: 1700 x 1000 / 2200 = 772.7 -> 773 x 1000.
    assert sizes(dpi=200, max_side=1000)[0] == (773, 1000)


def test_scanning_a_pdf_renders_nothing_and_hashes_the_file_once(tmp_path, monkeypatch):
    path = _pdf(tmp_path / "contract.pdf", pages=5)
    data = path.read_bytes()
    hashed = []
    real_hash = pages_module._file_hash
    monkeypatch.setattr(pages_module, "_file_hash", lambda p: hashed.append(p) or real_hash(p))
    made = _stop_rendering(monkeypatch)
    scanned = scan_pages(path)
    assert made == [] and hashed == [path]
    assert [p.name for p in scanned] == [f"contract.pdf#p{n}" for n in range(1, 6)]
    assert [p.sha256 for p in scanned] == [_sha(data + f"#page={n}".encode()) for n in range(1, 6)]
    assert all(isinstance(p, Page) and p.mime == "image/png" for p in scanned)
    # 612 x 792 pt at 200 dpi is 1700 x 2200, in 2048 px: 1700 x 2048 / 2200 = 1582.5 -> 1583 x 2048
    assert {(p.width_px, p.height_px) for p in scanned} == {(1583, 2048)}
    assert scanned[0] == scan_pages(path)[0] and len({*scanned, *scan_pages(path)}) == 5  # compared without rendering


def _late_exif_png(path: Path, size=(300, 200), orientation=6) -> Path:
    """A PNG whose eXIf chunk (orientation) comes after its pixel data, as some tools write it."""
    import struct
    import zlib

    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, "PNG")
    data = buf.getvalue()
    exif = Image.Exif()
    exif[0x0112] = orientation
    body = exif.tobytes()[6:]  # without the "Exif\0\0" header, as PNG stores it
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(">I", zlib.crc32(b"eXIf" + body))
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + chunk + data[iend:])
    return path


def _image_cases(folder: Path) -> list[Path]:
    """One file per way an image is sent: as it is, shrunk, turned, flattened, re-encoded, frame by frame."""
    folder.mkdir()
    _png(folder / "fits.png")
    _png(folder / "wide.png", size=(3000, 1000))
    Image.new("RGB", (640, 480), "grey").save(folder / "photo.jpg", "JPEG")
    Image.new("RGB", (4000, 3000), "grey").save(folder / "big.jpg", "JPEG")
    Image.new("RGB", (640, 480), "grey").save(folder / "photo.webp", "WEBP")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 300), "grey").save(folder / "turned.jpg", "JPEG", exif=exif)
    Image.new("RGB", (4000, 300), "grey").save(folder / "turned-big.jpg", "JPEG", exif=exif)
    Image.new("RGB", (400, 300), "grey").save(folder / "turned.png", "PNG", exif=exif)
    _late_exif_png(folder / "late-exif.png")
    Image.new("RGBA", (120, 60), (0, 0, 0, 0)).save(folder / "cutout.png")
    Image.new("P", (3001, 100)).save(folder / "palette.png")
    Image.new("RGB", (500, 400), "grey").save(folder / "scan.bmp")
    Image.new("I;16", (300, 200)).save(folder / "deep.tif")
    frames = [Image.new("RGB", (2500, 1000), "white"), Image.new("L", (300, 600), 128)]
    frames[0].save(folder / "multi.tiff", save_all=True, append_images=frames[1:])
    frames = [Image.new("P", (200, 100), n) for n in range(3)]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    first, second = Image.new("RGB", (320, 240), "white"), Image.new("RGB", (320, 240), "black")
    first.save(folder / "camera.jpg", "MPO", save_all=True, append_images=[second])
    return sorted(folder.iterdir())


@pytest.mark.parametrize("max_side", [2048, 500])
def test_a_scanned_image_has_the_type_and_size_its_encoding_has(tmp_path, max_side):
    files = _image_cases(tmp_path / "images")
    scanned = scan_pages(files, max_side=max_side)
    rendered = load_pages(files, max_side=max_side)
    assert [p.name for p in scanned] == [p.name for p in rendered]
    for lazy, page in zip(scanned, rendered):
        sent = _decoded(page)
        assert (lazy.mime, lazy.width_px, lazy.height_px) == (page.mime, *sent.size), lazy.name
        assert lazy.mime == Image.MIME[sent.format], lazy.name
        assert lazy.sha256 == page.sha256 and lazy.image == page.image, lazy.name


def test_the_orientation_of_a_png_with_late_exif_is_read_by_decoding_it(tmp_path):
    path = _late_exif_png(tmp_path / "late.png", size=(300, 200), orientation=6)
    [page] = scan_pages(path)
    assert (page.width_px, page.height_px, page.mime) == (200, 300, "image/png")  # turned a quarter, re-encoded


def test_scanning_images_decodes_no_pixels(tmp_path, monkeypatch):
    files = [p for p in _image_cases(tmp_path / "images") if p.name != "late-exif.png"]
    made = _stop_rendering(monkeypatch)
    scanned = scan_pages(files)
    assert made == []
    assert len(scanned) == len(files) + 1  # the TIFF of two frames gives two pages
    # 4000 x 300 turned a quarter is 300 x 4000, shrunk: 300 x 2048 / 4000 = 153.6 -> 154 x 2048
    assert {p.name: (p.mime, p.width_px, p.height_px) for p in scanned}["turned-big.jpg"] == ("image/jpeg", 154, 2048)


def test_a_page_asked_for_again_is_made_once_and_only_a_few_are_kept(tmp_path, monkeypatch):
    path = _pdf(tmp_path / "long.pdf", pages=pages_module.RENDER_CACHE_PAGES + 3)
    made = []
    real = pages_module._render_pdf_page
    monkeypatch.setattr(
        pages_module, "_render_pdf_page", lambda doc, index, *a: made.append(index) or real(doc, index, *a)
    )
    monkeypatch.setattr(pages_module, "_RENDERED", pages_module.OrderedDict())
    scanned = scan_pages(path, dpi=36)
    for _ in range(3):  # one page sent to three models
        scanned[0].data_url()
    assert made == [0]
    for page in scanned:
        page.image
    assert len(pages_module._RENDERED) == pages_module.RENDER_CACHE_PAGES
    scanned[0].image  # long since dropped: made again
    assert made == [*range(len(scanned)), 0]


def test_a_file_changed_since_its_scan_is_refused_by_name(tmp_path):
    path = _png(tmp_path / "invoice.png")
    [page] = scan_pages(path)
    _png(path, size=(301, 200))
    with pytest.raises(ValueError, match=r"invoice\.png.*changed since"):
        page.image


def test_scanning_refuses_what_loading_refuses(tmp_path, monkeypatch):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not a PDF body at all\n")
    with pytest.raises(ValueError, match=r"broken\.pdf"):
        scan_pages(broken)
    poster = _pdf(tmp_path / "poster.pdf", pages=1)
    bomb = _png(tmp_path / "bomb.png", size=(1200, 1000))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(ValueError, match=r"page too large \(1700x2200 px\): page 1 of .*poster\.pdf.* at 200 dpi"):
        scan_pages(poster, dpi=200, max_side=4000)
    with pytest.raises(ValueError, match=r"page too large.*bomb\.png"):
        scan_pages(bomb)
    with pytest.raises(ValueError, match="max_side must be"):
        scan_pages(poster, max_side=0)


def test_scanned_pages_are_made_right_from_many_threads_while_another_loads(tmp_path):
    """pdfium is not thread-safe: scanned pages made on pool threads, and ``load_pages`` meanwhile, take turns.

    (Without the turns this crashes or garbles pages only sometimes: a smoke test, not a proof.)
    """
    from concurrent.futures import ThreadPoolExecutor

    path = _pdf(tmp_path / "contract.pdf", pages=8)
    expected = [p.image for p in load_pages(path, dpi=50)]
    scanned = scan_pages(path, dpi=50)
    with ThreadPoolExecutor(4) as pool:
        loaded = [pool.submit(lambda: [p.image for p in load_pages(path, dpi=50)]) for _ in range(2)]
        made = list(pool.map(lambda p: p.image, scanned * 2))
        assert [future.result() for future in loaded] == [expected] * 2
    assert made == expected * 2


def test_a_png_cut_short_is_refused_when_scanned_not_when_sent(tmp_path):
    good = tmp_path / "good.png"
    Image.effect_noise((400, 400), 64).save(good)  # noise does not compress: half the file is half the pixels
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"corrupt or unreadable image .*cut\.png.*truncated"):
        scan_pages(cut)
    # Cut after its pixels (no end chunk), it decodes, and is scanned alike.
    whole = good.read_bytes()
    ended = tmp_path / "no-end.png"
    ended.write_bytes(whole[: whole.rindex(b"IEND") - 4])
    [page] = scan_pages(ended)
    assert (page.width_px, page.height_px) == (400, 400) and page.image == load_pages(ended)[0].image
