"""The integrator guide's Python snippet, run as written against the running service."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from hub.core import Hub
from hub.store.models import Request
from tests.fhir_support import EXAMPLES, add_client, directory_hub_fixture  # noqa: F401

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "integrator-guide.md"


async def test_the_guides_python_snippet_gets_a_token_and_sends_a_message(directory_hub: Hub, start_server: Any,
                                                                         tmp_path: Path) -> None:
    snippet = re.search(r"### Python.*?```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert snippet is not None
    srv = await start_server(directory_hub)
    client = await add_client(directory_hub)
    key = tmp_path / "cpts-key.pem"
    key.write_bytes(client.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    env = {**os.environ, "GUICHET_URL": srv.url, "GUICHET_CLIENT_ID": client.id, "GUICHET_KID": client.kid,
           "GUICHET_KEY": str(key), "GUICHET_BUNDLE": str(EXAMPLES / "pdp-referral.json")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", snippet.group(1), env=env, cwd=tmp_path,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    task_id, status, reference = out.decode().split()
    assert status == "requested" and reference.startswith("GU-")
    async with directory_hub.db.session() as session:
        request = await session.get(Request, task_id)
    assert request is not None and request.event == "pdp-referral"
