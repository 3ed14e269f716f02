"""A report author opens index.html in a real browser (Debian's Chromium driven by Playwright),
follows the link to the 2023 workbook and receives the file."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("mode", ["static_site", "local_folder"])
def test_index_links_to_the_workbook(demo: dict, tmp_path: Path, mode: str) -> None:
    from playwright.sync_api import sync_playwright

    published = demo["store"] / "published"
    server, base = _serve(published)
    url = f"{base}/index.html" if mode == "static_site" else (published / "index.html").as_uri()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(url)
            assert "Monitor 2023" in page.content()
            first = page.locator("#y2023 tbody a").all_inner_texts()[:4]
            assert first == [  # what an author opens first
                "innovatiemonitor-2023.xlsx",
                "innovatiemonitor-2023-concept.docx",
                "datapackage.json",
                "data/concept-sentences.json",
            ], first
            link = page.get_by_role("link", name="innovatiemonitor-2023.xlsx")
            with page.expect_download() as info:
                link.click()
            target = tmp_path / "downloaded.xlsx"
            info.value.save_as(target)
            browser.close()
    finally:
        server.shutdown()
    from tests.helpers import latest_release

    expected = (latest_release(demo["store"], 2023) / "innovatiemonitor-2023.xlsx").read_bytes()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(expected).hexdigest()
