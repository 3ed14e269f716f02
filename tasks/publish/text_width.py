"""How wide a text prints in Arial: the Helvetica metrics (Arial and Liberation Sans, which
LibreOffice puts in Arial's place, share them) from the Adobe font metrics files matplotlib ships.
The draft's table columns are sized to their words with it, so no word breaks inside a cell.

Written by hand: python-docx cannot measure text, and a font file of the machine would make the
draft depend on the machine's fonts; these metrics are part of a pinned library.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

PT_TO_CM = 2.54 / 72


@lru_cache(maxsize=2)
def _advances(bold: bool) -> dict[str, int]:
    """Character -> advance width in 1/1000 em, for the characters the metrics give a code."""
    import matplotlib

    name = "Helvetica-Bold.afm" if bold else "Helvetica.afm"
    path = Path(matplotlib.get_data_path()) / "fonts" / "pdfcorefonts" / name
    out: dict[str, int] = {}
    for line in path.read_text("latin-1").splitlines():
        if not line.startswith("C "):
            continue
        fields = dict(part.strip().split(" ", 1) for part in line.split(";") if part.strip())
        code = int(fields["C"])
        if 0 <= code < 256:
            out[chr(code)] = int(fields["WX"])
    return out


def width_cm(text: str, size_pt: float, bold: bool = False) -> float:
    """The printed width of `text` at `size_pt` points (an accented letter as its base letter)."""
    advances = _advances(bold)
    total = 0
    for ch in text:
        if ch in ("\u202f", "\u00a0"):
            ch = " "
        if ch not in advances:
            ch = unicodedata.normalize("NFD", ch)[0] if unicodedata.normalize("NFD", ch) else "n"
        total += advances.get(ch, advances["n"])
    return total / 1000 * size_pt * PT_TO_CM


def longest_word_cm(text: str, size_pt: float, bold: bool = False) -> float:
    """The widest word of a text (a hyphen ends a part: a line may break after it): the least a
    cell can be without breaking a word."""
    return max((width_cm(w, size_pt, bold) for w in re.split(r"\s+|(?<=-)", text) if w), default=0.0)
