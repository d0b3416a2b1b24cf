"""Login refusals tell no one which addresses have an account, and an attacker cannot lock a physician out."""

from __future__ import annotations

import pytest

from hub.core import Hub
from hub.web import login_guard
from hub.web.auth import LoginRefused, login
from tests.inbox_support import PASSWORD, SOPHIE

ATTACKER, SURGERY = "203.0.113.9", "192.0.2.10"


async def _answers(hub: Hub, email: str, source: str, attempts: int) -> list[tuple[int, str]]:
    out = []
    for _ in range(attempts):
        with pytest.raises(LoginRefused) as refused:
            await login(hub, email, "mauvais-mot-de-passe", source)
        out.append((refused.value.status, refused.value.message))
    return out


async def test_unknown_and_locked_addresses_answer_alike(demo_hub: Hub) -> None:
    known = await _answers(demo_hub, SOPHIE, ATTACKER, 7)
    unknown = await _answers(demo_hub, "personne@spsti-demo.fr", ATTACKER, 7)
    assert known == unknown
    assert [status for status, _ in known] == [401] * 4 + [429] * 3
    with pytest.raises(LoginRefused) as still:  # right password, from the attacker's address: refused alike
        await login(demo_hub, SOPHIE, PASSWORD, ATTACKER)
    with pytest.raises(LoginRefused) as nobody:
        await login(demo_hub, "personne@spsti-demo.fr", PASSWORD, ATTACKER)
    assert (still.value.status, still.value.message) == (nobody.value.status, nobody.value.message)


async def test_the_physician_still_logs_in_from_her_own_address(demo_hub: Hub) -> None:
    await _answers(demo_hub, SOPHIE, ATTACKER, 6)
    session = await login(demo_hub, SOPHIE, PASSWORD, SURGERY)
    assert session.token


async def test_a_client_spraying_addresses_is_throttled(demo_hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_guard, "CLIENT_MAX", 6)
    answers = []
    for i in range(7):
        answers += await _answers(demo_hub, f"essai{i}@spsti-demo.fr", ATTACKER, 1)
    assert [status for status, _ in answers] == [401] * 5 + [429] * 2
    with pytest.raises(LoginRefused) as throttled:
        await login(demo_hub, SOPHIE, PASSWORD, ATTACKER)
    assert throttled.value.status == 429
    assert (await login(demo_hub, SOPHIE, PASSWORD, SURGERY)).token  # other clients are not affected
