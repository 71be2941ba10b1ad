"""Rendering a contract from its template into a PDF (fpdf2, with an embedded CJK font).

Placeholders are ``{{name}}`` (see the template entity's description for the names); an
unknown placeholder is refused at rendering with its name, so a template typo never reaches a
signer. The fonts are DejaVu Sans (Latin) with Droid Sans Fallback subset to GB 2312 (Chinese;
Apache 2.0) as its fallback (``fonts/NOTICE.txt``);
fpdf2 embeds the glyphs used, so the PDF shows the same text on every viewer. The PDF's
metadata dates are fixed to the contract's revision time, so rendering is reproducible.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

from fpdf import FPDF

from rapport.errors import FieldError, ValidationFailed

__all__ = ["fill", "render_pdf"]

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}")
FONT = "DroidSansFallback-GB2312.ttf"
LATIN = "DejaVuSans-Latin.ttf"


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every placeholder replaced; unknown names refused (all at once)."""
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(values))
    if unknown:
        raise ValidationFailed(
            [FieldError(("template", "body"), f"unknown placeholder {{{{{n}}}}}") for n in unknown],
            hint="Use only the placeholders the template entity lists, or fix the spelling.",
        )
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def render_pdf(title: str, body: str, *, created: dt.datetime) -> bytes:
    pdf = FPDF(format="A4")
    fonts = Path(__file__).parent / "fonts"
    pdf.add_font("latin", fname=str(fonts / LATIN))
    pdf.add_font("cjk", fname=str(fonts / FONT))
    # Latin text from DejaVu, every glyph it lacks (Chinese) from Droid Sans Fallback.
    pdf.set_fallback_fonts(["cjk"])
    pdf.set_creation_date(created)
    pdf.set_title(title)
    pdf.set_creator("Rapport contracts")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("latin", size=16)
    pdf.multi_cell(0, 10, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("latin", size=11)
    for paragraph in body.split("\n"):
        pdf.multi_cell(0, 7, paragraph or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
