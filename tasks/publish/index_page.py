"""`index.html` at the published root: every year, its latest release and its files, for report authors.

Links are relative, so the page works when the bucket is served as a static site and when the folder
is opened from disk. Regenerated on every publish from the `latest.json` pointers and manifests.
"""

from __future__ import annotations

import html
import json
from typing import Any

from innomon import storage


def releases(published_root: str) -> list[dict[str, Any]]:
    """Latest release of every published year (newest year first), with its manifest."""
    out = []
    for uri in storage.list_uris(published_root):
        rel = uri[len(published_root.rstrip("/")) + 1 :]
        parts = rel.split("/")
        if len(parts) == 2 and parts[1] == "latest.json" and parts[0].isdigit():
            pointer = json.loads(storage.read_bytes(uri))
            manifest = json.loads(storage.read_bytes(storage.join(published_root, parts[0], pointer["manifest"])))
            out.append({"year": int(parts[0]), "run_id": pointer["run_id"], "manifest": manifest})
    return sorted(out, key=lambda r: -r["year"])


def reading_order(path: str) -> tuple[int, str]:
    """What an author opens first: the workbook, the draft, then the data package and its data, the
    charts, and the rest (validation)."""
    tests = (
        path.endswith(".xlsx"),
        path.endswith(".docx"),
        path == "datapackage.json",
        path.startswith("data/"),
        path.startswith("charts/"),
    )
    return next((rank for rank, hit in enumerate(tests) if hit), len(tests)), path


def _size(n: int) -> str:
    return f"{n / 1024:.1f} kB".replace(".", ",") if n >= 1024 else f"{n} B"


def render_index(items: list[dict[str, Any]], title: str) -> bytes:
    """The page (UTF-8, no scripts, no external resources)."""
    esc = html.escape
    rows = []
    for rel in items:
        m = rel["manifest"]
        base = f"{rel['year']}/runs/{rel['run_id']}"
        rows.append(f'<section id="y{rel["year"]}"><h2>Monitor {rel["year"]}</h2>')
        rows.append(
            f"<p>Laatste release <code>{esc(rel['run_id'])}</code>, gepubliceerd {esc(m.get('publication_date', ''))}, "
            f"codeversie <code>{esc(m.get('code_version', ''))}</code>.</p>"
        )
        rows.append(
            '<table><thead><tr><th scope="col">Bestand</th><th scope="col">Grootte</th>'
            '<th scope="col">Datum</th><th scope="col">SHA-256</th></tr></thead><tbody>'
        )
        files = sorted(m["files"], key=lambda f: reading_order(str(f["path"])))
        files.append({"path": "manifest.json", "size": None, "sha256": rel.get("manifest_sha256", "")})
        for f in files:
            href = f"{base}/{f['path']}"
            size = _size(f["size"]) if f.get("size") is not None else ""
            rows.append(
                f'<tr><td><a href="{esc(href)}">{esc(f["path"])}</a></td><td>{size}</td>'
                f"<td>{esc(m.get('publication_date', ''))}</td><td><code>{esc(f.get('sha256', ''))}</code></td></tr>"
            )
        rows.append("</tbody></table></section>")
    body = "\n".join(rows) or "<p>Nog niets gepubliceerd.</p>"
    page = f"""<!DOCTYPE html>
<html lang="nl">
<head><meta charset="utf-8"><title>{esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #ccc}}
code{{font-size:.8rem}}</style></head>
<body><h1>{esc(title)}</h1>
<p>Gepubliceerde werkmappen, grafieken en data per monitorjaar.</p>
{body}
</body></html>
"""
    return page.encode("utf-8")


def write_index(published_root: str, title: str) -> str:
    """Regenerate `index.html`; returns its URI."""
    uri = storage.join(published_root, "index.html")
    storage.write_bytes(uri, render_index(releases(published_root), title))
    return uri
