"""Render the bundled sample pages and write their ground truth: ``python tools/make_samples.py``.

They go to ``vision_models/data/sample_pages/`` (``OUT``), beside the package's other data.

The pages are drawn from the text below (fictional companies, people and addresses, written for
this project) with Pillow's bundled scalable font (``ImageFont.load_default(size=...)``, Pillow >=
10.1), so no system font is needed: A4 at 150 dpi (1240 x 1754 px), grey on white, stored as
16-grey palette PNGs to stay small; the delivery note is tinted and tilted like a crooked scan. The
truth file of each page is exactly the text drawn, one line per drawn line (a table row's cells
joined by single spaces, blank lines where the page has vertical space). The bundled font covers
ASCII only, so the text is ASCII.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import PIL
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

OUT = Path(__file__).resolve().parents[1] / "vision_models" / "data" / "sample_pages"
WIDTH, HEIGHT = 1240, 1754  # A4 at 150 dpi
MARGIN = 110
INK, PAPER, RULE, BAND = 25, 255, 150, 232
BODY = 24  # px: about 11.5 pt at 150 dpi


@dataclass(frozen=True)
class Row:
    """One drawn line: cells at x positions (a negative x right-aligns the cell's end at -x)."""

    cells: tuple[tuple[int, str], ...]
    size: int = BODY
    rule_below: bool = False
    band: bool = False

    @property
    def text(self) -> str:
        return " ".join(text for _, text in self.cells)


def line(text: str, size: int = BODY, x: int = MARGIN, **kw) -> Row:
    return Row(((x, text),), size, **kw)


def row(*cells: tuple[int, str], size: int = BODY, **kw) -> Row:
    return Row(tuple(cells), size, **kw)


BLANK = Row(())

# Invoice: column positions (negative: right-aligned at that x).
_I = (MARGIN, 640, -900, -1130)
INVOICE: list[Row] = [
    line("Brightwater Instruments Ltd", 44),
    line("14 Kestrel Lane, Harbourton HT4 9QZ"),
    line("accounts@brightwater-instruments.example  +44 20 7946 0321"),
    BLANK,
    line("INVOICE", 40),
    BLANK,
    row((MARGIN, "Invoice number:"), (400, "BWI-2026-0418")),
    row((MARGIN, "Invoice date:"), (400, "12 March 2026")),
    row((MARGIN, "Due date:"), (400, "11 April 2026")),
    row((MARGIN, "Customer ref:"), (400, "PO 77152")),
    BLANK,
    line("Bill to:"),
    line("Marlow & Finch Laboratories"),
    line("Attn: Dr. Priya Okonkwo"),
    line("3 Tannery Yard, Eastbrook EB2 6LW"),
    BLANK,
    row((_I[0], "Description"), (_I[1], "Qty"), (_I[2], "Unit price"), (_I[3], "Amount"), rule_below=True, band=True),
    row((_I[0], "Digital hygrometer DH-200"), (_I[1], "4"), (_I[2], "86.50"), (_I[3], "346.00")),
    row((_I[0], "Calibration kit, 5 point"), (_I[1], "1"), (_I[2], "129.00"), (_I[3], "129.00")),
    row((_I[0], "Probe cable, 3 m"), (_I[1], "6"), (_I[2], "14.25"), (_I[3], "85.50")),
    row((_I[0], "On-site setup (hours)"), (_I[1], "2.5"), (_I[2], "72.00"), (_I[3], "180.00")),
    row((_I[0], "Delivery, next day"), (_I[1], "1"), (_I[2], "18.00"), (_I[3], "18.00"), rule_below=True),
    row((_I[2], "Subtotal"), (_I[3], "758.50")),
    row((_I[2], "VAT 20%"), (_I[3], "151.70")),
    row((_I[2], "Total due (GBP)"), (_I[3], "910.20"), size=28),
    BLANK,
    line("Payment by bank transfer within 30 days to:"),
    line("Harbourton Mutual Bank, sort code 40-12-77, account 61839204"),
    line("Please quote the invoice number with your payment. Thank you for your order."),
]

LETTER: list[Row] = [
    line("Fenwick & Hale Architects", 40),
    line("Studio 9, 220 Quayside Road, Northmere NM1 3TB"),
    BLANK,
    line("27 February 2026"),
    BLANK,
    line("Ms Eleanor Vasquez"),
    line("Parish Council of Little Ashby"),
    line("The Old School House, Church Street"),
    line("Little Ashby LA7 2PD"),
    BLANK,
    line("Dear Ms Vasquez,"),
    BLANK,
    line("Re: Restoration of the village hall roof"),
    BLANK,
    line("Thank you for meeting us at the hall on 19 February. As agreed, we have inspected"),
    line("the roof timbers from the loft and from a tower scaffold on the north side. Most of"),
    line("the oak trusses are sound, but two purlins over the stage show old beetle damage and"),
    line("should be replaced before the new slates go on."),
    BLANK,
    line("We propose to carry out the work in three stages: first the scaffold and temporary"),
    line("cover, then the timber repairs, and finally the slating, lead flashing and gutters."),
    line("We expect the work to take eleven weeks, starting no earlier than 4 May, so that the"),
    line("hall can stay open for the spring fair."),
    BLANK,
    line("Our fee proposal and a drawing of the affected bays are enclosed. The listed building"),
    line("consent from the district council should take about eight weeks, and we will submit"),
    line("the application as soon as the parish council confirms that it wishes to proceed."),
    BLANK,
    line("Please do not hesitate to call me on 0161 496 0755 if you have any questions."),
    BLANK,
    line("Yours sincerely,"),
    BLANK,
    BLANK,
    line("Thomas Hale RIBA"),
    line("Partner, Fenwick & Hale Architects"),
    BLANK,
    line("Enclosures: fee proposal FH-0212, drawing 3 of 7 (roof bays C and D)"),
]

# Table: a timetable of fictional ferry sailings.
_T = (MARGIN, 420, -700, -880, -1130)
TABLE: list[Row] = [
    line("Saltmarsh Ferry Company", 40),
    line("Summer timetable 2026: Port Elwin to Gull Island"),
    line("Valid 1 June to 30 September. Crossing time about 45 minutes."),
    BLANK,
    row(
        (_T[0], "Sailing"),
        (_T[1], "Days"),
        (_T[2], "Departs"),
        (_T[3], "Arrives"),
        (_T[4], "Adult fare"),
        rule_below=True,
        band=True,
    ),
    row((_T[0], "SF101"), (_T[1], "Mon-Fri"), (_T[2], "06:40"), (_T[3], "07:25"), (_T[4], "12.50")),
    row((_T[0], "SF103"), (_T[1], "Daily"), (_T[2], "08:15"), (_T[3], "09:00"), (_T[4], "14.00")),
    row((_T[0], "SF105"), (_T[1], "Daily"), (_T[2], "10:30"), (_T[3], "11:15"), (_T[4], "14.00")),
    row((_T[0], "SF107"), (_T[1], "Sat-Sun"), (_T[2], "11:45"), (_T[3], "12:30"), (_T[4], "16.75")),
    row((_T[0], "SF109"), (_T[1], "Daily"), (_T[2], "13:20"), (_T[3], "14:05"), (_T[4], "14.00")),
    row((_T[0], "SF111"), (_T[1], "Mon-Sat"), (_T[2], "15:00"), (_T[3], "15:45"), (_T[4], "14.00")),
    row((_T[0], "SF113"), (_T[1], "Daily"), (_T[2], "17:10"), (_T[3], "17:55"), (_T[4], "12.50")),
    row((_T[0], "SF115"), (_T[1], "Fri-Sun"), (_T[2], "19:35"), (_T[3], "20:20"), (_T[4], "12.50")),
    row((_T[0], "SF117"), (_T[1], "Sat"), (_T[2], "21:50"), (_T[3], "22:35"), (_T[4], "18.20"), rule_below=True),
    BLANK,
    line("Fares"),
    row((_T[0], "Ticket"), (_T[2], "Single"), (_T[3], "Return"), (_T[4], "Season"), rule_below=True, band=True),
    row((_T[0], "Adult"), (_T[2], "14.00"), (_T[3], "25.00"), (_T[4], "310.00")),
    row((_T[0], "Child (5-15)"), (_T[2], "7.00"), (_T[3], "12.50"), (_T[4], "155.00")),
    row((_T[0], "Bicycle"), (_T[2], "3.50"), (_T[3], "6.00"), (_T[4], "60.00")),
    row((_T[0], "Car and driver"), (_T[2], "48.00"), (_T[3], "88.00"), (_T[4], "940.00"), rule_below=True),
    BLANK,
    line("Children under 5 travel free. Sailings may be cancelled in winds above force 7;"),
    line("check the board at the harbour office or call 01632 960 418 before you travel."),
]

# A delivery note in smaller type, printed on off-white paper and scanned a little crooked.
_D = (MARGIN, 330, -1130)
SMALL = 20
DELIVERY_NOTE: list[Row] = [
    line("Oakridge Garden Supplies", 36),
    line("Unit 4, Millbank Trading Estate, Wexley WX9 5RD", SMALL),
    BLANK,
    line("DELIVERY NOTE DN-55031", 30),
    BLANK,
    row((MARGIN, "Deliver to:"), (330, "Greenway Allotment Society, Plot Office, Ferris Road, Wexley"), size=SMALL),
    row((MARGIN, "Order date:"), (330, "3 April 2026"), size=SMALL),
    row((MARGIN, "Delivery date:"), (330, "8 April 2026, between 09:00 and 12:00"), size=SMALL),
    row((MARGIN, "Driver:"), (330, "K. Adeyemi, van WX21 KTP"), size=SMALL),
    BLANK,
    row((_D[0], "Item code"), (_D[1], "Description"), (_D[2], "Quantity"), size=SMALL, rule_below=True, band=True),
    row((_D[0], "OGS-1140"), (_D[1], "Peat-free compost, 50 litre bag"), (_D[2], "24"), size=SMALL),
    row((_D[0], "OGS-2208"), (_D[1], "Raised bed kit, larch, 1.2 x 2.4 m"), (_D[2], "3"), size=SMALL),
    row((_D[0], "OGS-0315"), (_D[1], "Galvanised watering can, 10 litre"), (_D[2], "6"), size=SMALL),
    row((_D[0], "OGS-4471"), (_D[1], "Bamboo canes, 180 cm, bundle of 25"), (_D[2], "10"), size=SMALL),
    row((_D[0], "OGS-3902"), (_D[1], "Fleece tunnel, 3 m"), (_D[2], "4"), size=SMALL),
    row((_D[0], "OGS-1187"), (_D[1], "Chicken manure pellets, 15 kg tub"), (_D[2], "8"), size=SMALL),
    row(
        (_D[0], "OGS-5520"), (_D[1], "Wheelbarrow, 90 litre, pneumatic tyre"), (_D[2], "1"), size=SMALL, rule_below=True
    ),
    BLANK,
    line("Goods remain the property of Oakridge Garden Supplies until paid for in full.", SMALL),
    line("Please check the goods on arrival and report any damage within 48 hours.", SMALL),
    BLANK,
    row((MARGIN, "Received by (print name):"), (520, "____________________"), size=SMALL),
    row((MARGIN, "Signature:"), (520, "____________________"), size=SMALL),
]

SAMPLES: dict[str, list[Row]] = {"invoice": INVOICE, "letter": LETTER, "table": TABLE, "delivery-note": DELIVERY_NOTE}
#: Pages printed on tinted paper and scanned crooked: name -> (paper grey, degrees anticlockwise).
SCANNED = {"delivery-note": (242, 1.1)}


def truth_text(rows: list[Row]) -> str:
    """The ground truth of a page: each drawn line's text, one per line."""
    return "\n".join(r.text for r in rows) + "\n"


def render(rows: list[Row], *, paper: int = PAPER, tilt: float = 0.0) -> Image.Image:
    """The page: 8-bit grey, each row at its own height, header rows on a light band; tilted if asked."""
    image = Image.new("L", (WIDTH, HEIGHT), paper)
    draw = ImageDraw.Draw(image)
    y = MARGIN
    for r in rows:
        height = round(r.size * 1.55)
        if r.band:
            draw.rectangle((MARGIN - 10, y - 6, WIDTH - MARGIN + 10, y + height - 4), fill=BAND)
        font = ImageFont.load_default(size=r.size)
        for x, text in r.cells:
            left = x if x >= 0 else -x - draw.textlength(text, font=font)
            draw.text((left, y), text, font=font, fill=INK)
        if r.rule_below:
            draw.line((MARGIN - 10, y + height - 2, WIDTH - MARGIN + 10, y + height - 2), fill=RULE, width=2)
        y += height if r.cells else round(BODY * 1.2)
    if y > HEIGHT - MARGIN:
        raise ValueError(f"page overflows: the text ends at y={y}, past {HEIGHT - MARGIN}")
    if tilt:
        image = image.rotate(tilt, resample=Image.Resampling.BICUBIC, fillcolor=paper)
    return image


def render_sample(name: str) -> Image.Image:
    """The bundled sample page ``name`` as drawn."""
    paper, tilt = SCANNED.get(name, (PAPER, 0.0))
    return render(SAMPLES[name], paper=paper, tilt=tilt)


def main(out: Path = OUT) -> None:
    for name, rows in SAMPLES.items():
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", f"Pillow {PIL.__version__}")  # the re-render test is exact on the same release
        render_sample(name).quantize(colors=16).save(out / f"{name}.png", optimize=True, bits=4, pnginfo=info)
        (out / f"{name}.txt").write_text(truth_text(rows), encoding="utf-8", newline="\n")
        print(f"{name}.png  {(out / f'{name}.png').stat().st_size:,} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
