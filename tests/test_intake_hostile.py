"""Hostile shapes get a clear refusal before the costly work: too many MIME parts or levels (SMTP 552/554, before
any 250, nothing stored), too many Bundle entries (OperationOutcome 422 ``too-costly``); real SMTP and HTTP."""

from __future__ import annotations

import copy
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP
from typing import Any

import aiohttp
import pytest

from connectors.smtp.shape import MAX_DEPTH, MAX_PARTS, refusal
from hub.core import Hub
from hub.store.models import Request
from tests.fhir_support import (  # noqa: F401 - directory_hub_fixture is a fixture
    add_client,
    directory_hub_fixture,
    example,
    get_token,
    post_message,
)
from tests.test_smtp_support import GP, count, gp_mail, start_guichet


def many_parts(n: int) -> bytes:
    msg = MIMEMultipart()
    msg["From"], msg["To"], msg["Subject"] = GP, "guichet@spsti-test.fr", "Pieces"
    for i in range(n):
        msg.attach(MIMEText(f"p{i}"))
    return msg.as_bytes(policy=SMTP)


def nested(levels: int) -> bytes:
    top = cur = MIMEMultipart()
    top["From"], top["To"], top["Subject"] = GP, "guichet@spsti-test.fr", "Transferts"
    for _ in range(levels - 1):
        sub = MIMEMultipart()
        cur.attach(MIMEText("niveau"))
        cur.attach(sub)
        cur = sub
    cur.attach(MIMEText("fin"))
    return top.as_bytes(policy=SMTP)


def test_shapes_within_limits_pass() -> None:
    assert refusal(many_parts(MAX_PARTS - 2)) is None and refusal(nested(MAX_DEPTH)) is None
    assert refusal(gp_mail("Bonjour").as_bytes()) is None


async def test_smtp_refuses_hostile_shapes_before_accepting(hub: Hub) -> None:
    guichet = await start_guichet(hub, roles=("smtp",))
    try:
        code, text = await guichet.send(many_parts(MAX_PARTS + 10))
        assert code == 552 and b"5.3.4" in text and b"parties MIME" in text, text
        code, text = await guichet.send(nested(MAX_DEPTH + 3))
        assert code == 554 and b"5.6.0" in text and b"imbriquees" in text
        assert await count(hub, Request) == 0
        code, _ = await guichet.send(gp_mail("Bonjour, une demande ordinaire passe toujours."))
        assert code == 250 and await count(hub, Request) == 1
    finally:
        await guichet.stop()


async def test_fhir_refuses_a_bundle_with_too_many_entries(directory_hub: Hub, start_server: Any) -> None:
    srv = await start_server(directory_hub)
    client = await add_client(directory_hub)
    bundle = example("pdp-referral")
    extra = copy.deepcopy(bundle["entry"][-1])
    bundle["entry"] += [{**copy.deepcopy(extra), "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}"}
                        for i in range(250)]
    async with aiohttp.ClientSession() as http:
        status, outcome = await post_message(http, srv.url, await get_token(http, srv.url, client), bundle)
    assert status == 422
    [issue] = outcome["issue"]
    assert issue["code"] == "too-costly" and issue["expression"] == ["Bundle.entry"]
    assert "au plus" in issue["details"]["text"]
    assert await count(directory_hub, Request) == 0


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 40])
def test_depth_is_counted_past_the_limit(levels: int) -> None:
    text = refusal(nested(levels))
    assert text is not None and text.startswith("554")
