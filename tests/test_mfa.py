"""The second factor over the real server: enrolment at the first login (JSON and HTML), codes at every login,
replays and recovery codes, the secret sealed at rest, a role without a factor, the enrolment session's limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from sqlalchemy import select, text

from hub.core import Hub
from hub.store.models import AuditEvent, User, utcnow
from tests.accounts_support import TOKEN, client
from tests.inbox_support import ADMIN, ANNE, PASSWORD, SOPHIE


async def _user(hub: Hub, email: str) -> User:
    async with hub.db.session() as session:
        return (await session.execute(select(User).where(User.email == email))).scalar_one()


def _code(secret: str, shift: int = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30 * shift))


async def test_first_login_enrols_then_every_login_needs_a_fresh_code(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    async with client() as http:
        first = await http.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD})
        body = await first.json()
        assert first.status == 200 and body["stage"] == "enrol" and body["otpauth_uri"].startswith("otpauth://totp/")
        secret = pyotp.parse_uri(body["otpauth_uri"]).secret
        csrf = {"X-CSRF-Token": body["csrf_token"]}
        blocked = await http.get(f"{srv.url}/api/inbox")
        assert blocked.status == 403 and (await blocked.json())["mfa"] == "enrol"
        wrong = await http.post(f"{srv.url}/api/mfa/confirm", json={"otp": "000000"}, headers=csrf)
        assert wrong.status == 400 and "Code incorrect" in (await wrong.json())["error"]
        done = await http.post(f"{srv.url}/api/mfa/confirm", json={"otp": _code(secret)}, headers=csrf)
        confirmed = await done.json()
        assert done.status == 200 and confirmed["stage"] == "full" and len(confirmed["recovery_codes"]) == 10
        assert (await http.get(f"{srv.url}/api/inbox")).status == 200
        recovery = confirmed["recovery_codes"]
    async with client() as http:
        missing = await http.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD})
        assert missing.status == 401 and (await missing.json())["otp_required"] is True
        bad = await http.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD, "otp": "123456"})
        assert bad.status == 401 and "Code de vérification incorrect" in (await bad.json())["error"]
        used = _code(secret, 1)  # the next step: accepted (clock drift), then never again
        ok = await http.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD, "otp": used})
        assert ok.status == 200 and (await ok.json())["stage"] == "full"
        replay = await http.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD, "otp": used})
        assert replay.status == 401
        spare = await http.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD,
                                                              "otp": recovery[0].lower()})
        assert spare.status == 200
        again = await http.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD,
                                                              "otp": recovery[0]})
        assert again.status == 401
    anne = await _user(demo_hub, ANNE)
    assert anne.totp_secret_enc is not None and secret.encode() not in anne.totp_secret_enc
    async with demo_hub.db.session() as session:
        raw = (await session.execute(text("SELECT * FROM users"))).all()
    assert secret not in repr(raw) and not any(c.replace("-", "") in repr(raw) for c in recovery)
    async with demo_hub.db.session() as session:
        details = set((await session.execute(select(AuditEvent.detail).where(
            AuditEvent.action == "login", AuditEvent.entity_id == str(anne.id)))).scalars().all())
    assert {"stage enrol", "second factor enrolment: wrong code", "second factor enrolled", "second factor needed",
            "bad second factor", "stage full"} <= details  # every step audited, none with a code in it


async def test_a_role_without_a_factor_logs_in_with_its_password(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    async with client() as http:
        response = await http.post(f"{srv.url}/api/login", json={"email": ADMIN, "password": PASSWORD})
        assert response.status == 200 and (await response.json())["stage"] == "full"
    assert not demo_hub.rights.needs_mfa("admin") and demo_hub.rights.needs_mfa("assistant")


async def test_enrolment_in_html_shows_a_qr_code_and_the_recovery_codes(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    async with client() as http:
        page = await http.get(f"{srv.url}/inbox/login")
        token = TOKEN.search(await page.text())
        assert token is not None
        login = await http.post(f"{srv.url}/inbox/login", allow_redirects=False,
                                data={"email": SOPHIE, "password": PASSWORD, "csrf_token": token.group(1)})
        assert login.status == 303 and login.headers["Location"] == "/inbox/mfa"
        inbox = await http.get(f"{srv.url}/inbox", allow_redirects=False)
        assert inbox.status == 303 and inbox.headers["Location"] == "/inbox/mfa"
        enrol = await (await http.get(f"{srv.url}/inbox/mfa")).text()
        assert "<svg" in enrol and "<title>Code QR" in enrol and "http" not in enrol.split("<svg", 1)[1][:200]
        key = re.search(r'<code id="cle">([A-Z2-7 ]+)</code>', enrol)
        csrf = TOKEN.search(enrol)
        assert key is not None and csrf is not None
        secret = key.group(1).replace(" ", "")
        wrong = await http.post(f"{srv.url}/inbox/mfa", data={"csrf_token": csrf.group(1), "otp": "111111"})
        assert wrong.status == 400 and "Code incorrect" in await wrong.text()
        done = await http.post(f"{srv.url}/inbox/mfa", data={"csrf_token": csrf.group(1), "otp": _code(secret)})
        html = await done.text()
        assert done.status == 200 and len(re.findall(r"<li><code>[A-Z2-9]{5}-[A-Z2-9]{5}</code></li>", html)) == 10
        assert (await http.get(f"{srv.url}/inbox", allow_redirects=False)).status == 200


async def test_an_enrolment_session_expires_sooner(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    async with client() as http:
        first = await http.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD})
        assert (await first.json())["expires_in"] == 15 * 60
