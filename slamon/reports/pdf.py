"""HTML to PDF with WeasyPrint: the one module that knows it.

WeasyPrint lays out print CSS (page size, margins, running footers with page
numbers) and inline SVG without a browser, from its Debian dependencies (Pango,
HarfBuzz, fonts). The PDF's dates come from the page's ``dcterms.created`` and
``dcterms.modified`` meta tags, so the caller fixes them and the same HTML gives the
same bytes.
"""

from __future__ import annotations

import logging


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html``, which carries its own CSS and fixed dates."""
    # WeasyPrint logs each layout step (from its import on), fontTools each subsetting
    # step, at INFO.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Imported here: loading Pango costs time that only a PDF needs.
    import weasyprint  # noqa: PLC0415

    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf
