"""Schemathesis against ``/openapi.json`` of the running service: no 5xx, every answer as the document says.

Bounded and reproducible: a fixed seed, at most 50 examples per operation, no example database, one worker.
The operations behind an inbox session or a link (tags ``session``, ``inbox``, ``consent``, ``pickup``,
``gp-link``) are left out: without a cookie or a live link they can only answer 401/404, a login storm would only
fill the login guard, and asks for GP links only fill their rate limits.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp

from hub.core import Hub
from tests.fhir_support import add_client, directory_hub_fixture, get_token  # noqa: F401

CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_headers_conformance", "response_schema_conformance"])


async def test_schemathesis_finds_no_server_error_and_no_nonconforming_answer(directory_hub: Hub, start_server: Any,
                                                                            tmp_path: Path) -> None:
    srv = await start_server(directory_hub)
    client = await add_client(directory_hub)
    async with aiohttp.ClientSession() as http:
        token = await get_token(http, srv.url, client)
    st = Path(sys.executable).with_name("schemathesis")
    proc = await asyncio.create_subprocess_exec(
        str(st), "run", f"{srv.url}/openapi.json", "--checks", CHECKS, "--max-examples", "50", "--seed", "20261126",
        "--generation-database", "none", "--workers", "1", "--phases", "examples,coverage,fuzzing",
        "--request-timeout", "20", "--no-color",
        "--exclude-tag-regex", "^(session|inbox|consent|pickup|gp-link)$", "--header", f"Authorization: Bearer {token}",
        cwd=tmp_path, env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=240)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert "No issues found" in text or "passed" in text, text[-3000:]
