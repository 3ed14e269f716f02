"""The one writer of the publication's ZIP containers (the workbook, the Word draft, a kept chart or
bundle): the same entries give the same bytes.

xlsxwriter and python-docx write ZIPs of their own; a document is rewritten here only to make it
deterministic (python-docx stamps each entry with the current time) or to add what the library has
no option for (the workbook's `dc:language`). Written by hand: `zipfile` is the library, and what a
deterministic container needs of it (a fixed date, a fixed mode, the entries in order) is a few lines.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP entry can hold
FILE_MODE = 0o644 << 16  # rw-r--r--, as a Unix ZIP tool writes it


def write_zip(entries: Iterable[tuple[str, bytes]], *, compress: bool, mode: int | None = None) -> bytes:
    """A ZIP of `entries`, in their order, every entry dated `FIXED_TIME`; `compress`: deflated
    (documents) or stored (archives of compressed formats); `mode`: the entries' external attributes."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = method
            if mode is not None:
                info.external_attr = mode
            archive.writestr(info, data)
    return out.getvalue()


def rewrite_zip(data: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    """The ZIP `data` with each entry's content passed through `change(name, content)`, every entry
    keeping its own metadata (date, method, attributes): for a container that is deterministic already."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, change(info.filename, src.read(info.filename)))
    return out.getvalue()


def fixed_zip(data: bytes) -> bytes:
    """The ZIP `data` rewritten deterministically: its entries in their order, deflated, dated
    `FIXED_TIME`, mode rw-r--r--."""
    src = zipfile.ZipFile(io.BytesIO(data))
    return write_zip(((i.filename, src.read(i.filename)) for i in src.infolist()), compress=True, mode=FILE_MODE)
