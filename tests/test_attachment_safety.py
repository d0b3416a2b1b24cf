"""PDFs with active content are found (plain, hex-escaped names, inside compressed object streams); attachments of
active types are served only as downloads with a neutral type."""

from __future__ import annotations

import re
import zlib

from hub.attachment_safety import download_type, pdf_active_content
from hub.core import Hub
from hub.intake import AttachmentDraft
from tests.inbox_support import ANNE, new_request, place, practitioner

PLAIN = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction[3 0 R/Fit]>>endobj\ntrailer<<>>\n%%EOF\n"
JS = b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF\n"
ESCAPED = b"%PDF-1.4\n1 0 obj<</S/J#61vaScript/J#53(x)>>endobj\n%%EOF\n"
LAUNCH = b"%PDF-1.4\n1 0 obj<</S/Launch/F(calc.exe)>>endobj\n%%EOF\n"
HIDDEN = (b"%PDF-1.5\n5 0 obj<</Type/ObjStm/Filter/FlateDecode/Length 40>>stream\n"
          + zlib.compress(b"<</Names<</EmbeddedFiles 6 0 R>>>>") + b"\nendstream\nendobj\n%%EOF\n")


def test_active_pdfs_are_named_and_plain_ones_pass() -> None:
    assert pdf_active_content(PLAIN) == []
    assert pdf_active_content(JS) == ["JavaScript"]
    assert pdf_active_content(ESCAPED) == ["JavaScript"]
    assert pdf_active_content(LAUNCH) == ["Launch"]
    assert pdf_active_content(HIDDEN) == ["EmbeddedFile"]


def test_only_passive_types_keep_their_type() -> None:
    assert download_type("application/pdf") == "application/pdf"
    assert download_type("image/png; name=x.png") == "image/png"
    for active in ("text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/javascript",
                   "TEXT/HTML; charset=utf-8", "multipart/related"):
        assert download_type(active) == "application/octet-stream", active


async def test_email_attachments_of_active_types_download_neutral(demo_hub: Hub, start_server) -> None:  # type: ignore[no-untyped-def]
    from tests.test_inbox_pages import _logged_in

    srv = await start_server(demo_hub)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    thread_id, task_id, _ = await new_request(demo_hub, attachments=[
        AttachmentDraft("schema.svg", "image/svg+xml", svg), AttachmentDraft("page.html", "text/html", b"<p>x")])
    await place(demo_hub, task_id, assigned_practitioner_id=(await practitioner(demo_hub, "anne")).id)
    async with await _logged_in(demo_hub, srv.url, ANNE) as anne:
        thread = await (await anne.get(f"{srv.url}/inbox/threads/{thread_id}")).text()
        links = re.findall(r'href="(/inbox/attachments/[^"]+)"', thread)
        assert len(links) == 2
        for link in links:
            resp = await anne.get(srv.url + link)
            assert resp.status == 200 and resp.headers["Content-Type"] == "application/octet-stream"
            assert resp.headers["Content-Disposition"].startswith("attachment;")
            assert "sandbox" in resp.headers["Content-Security-Policy"]
