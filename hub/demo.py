"""The demo SPSTI of ``guichet init --demo``: the example directory of ``schemas/directory``, inbox accounts
and a few requests, so that a new user sees a working guichet at once. Every name here is fictitious."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from hub import clock
from hub.accounts import add_user, hash_password
from hub.audit import Actor
from hub.core import Hub
from hub.directory.importer import import_directory
from hub.intake import ConsentStatement, EmployerRef, Person, RequestDraft, Requester, WorkStoppage

# The example of the README (in a source checkout); ``guichet init --demo`` reads settings.schemas_dir/directory.
EXAMPLE_DIRECTORY = Path(__file__).resolve().parent.parent / "schemas" / "directory"
DEMO_PASSWORD = "guichet-demo-2026"  # noqa: S105 - printed to the user; demo data only


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    who: str


DEMO_LOGINS = (
    DemoLogin("anne.legoff@spsti-demo.fr", "physician", "Dr Anne Le Goff, médecin du travail, équipe Nantes 1"),
    DemoLogin("sophie.bernard@spsti-demo.fr", "physician", "Dr Sophie Bernard, médecin du travail, équipe Nantes 2"),
    DemoLogin("paul.nguyen@spsti-demo.fr", "physician", "Dr Paul Nguyen, médecin du travail, équipe intérim"),
    DemoLogin("claire.robin@spsti-demo.fr", "nurse", "Claire Robin, infirmière, cellule PDP"),
    DemoLogin("tri@spsti-demo.fr", "coordinator", "Coordination du guichet (file de tri)"),
    DemoLogin("admin@spsti-demo.fr", "admin", "Administrateur"),
    DemoLogin("direction@spsti-demo.fr", "direction", "Direction du service (indicateurs)"),
)
RPPS = {"anne.legoff@spsti-demo.fr": "10000000017", "sophie.bernard@spsti-demo.fr": "10000000033",
        "paul.nguyen@spsti-demo.fr": "10000000041", "claire.robin@spsti-demo.fr": "10000000058"}

# Demo workers: the dump test checks that none of these strings is stored in clear.
DEMO_WORKERS = (
    Person(family_name="Kerbrat", given_names="Yannick", birth_date=date(1978, 3, 14), sex="male",
           residence_commune="44109"),
    Person(family_name="Guénolé", given_names="Maëlle", birth_date=date(1991, 11, 2), sex="female",
           ins="291112A01234567", ins_system="urn:oid:1.2.250.1.213.1.4.11", residence_commune="44162"),
    Person(family_name="Tanguy", given_names="Loïc", birth_date=date(1969, 6, 30), sex="male",
           residence_commune="44114"),
)
DEMO_TEXTS = (
    "Patient en arrêt depuis deux mois pour lombalgie chronique ; il craint de perdre son poste de boulanger.",
    "Je souhaite être accompagnée pour reprendre mon travail après mon opération de l'épaule.",
    "Situation complexe repérée par la CPTS : salarié en souffrance au travail, employeur non identifié.",
)


@functools.cache
def _demo_password_hash() -> str:
    """The demo password hashed once per process (Argon2 costs a few hundred milliseconds): the demo's accounts
    share that public password, so sharing its hash reveals nothing more."""
    return hash_password(DEMO_PASSWORD)


async def load_demo(hub: Hub) -> list[DemoLogin]:
    report = await import_directory(hub, hub.settings.schemas_dir / "directory", progress=False)
    if report.errors:
        raise RuntimeError(f"demo directory has errors: {report.errors[:3]}")
    async with hub.db.session() as session, session.begin():
        password_hash = await asyncio.to_thread(_demo_password_hash)  # Argon2 off the event loop
        for login in DEMO_LOGINS:
            await add_user(session, login.email, login.role, DEMO_PASSWORD, RPPS.get(login.email),
                           password_hash=password_hash)
    actor, today = Actor("demo", "cli"), clock.today()
    gp = Requester(kind="gp", name="Dr Hélène Dubois", email="dr.dubois@medecins-demo.fr", rpps="10000000074")
    drafts = [
        RequestDraft(event="coordination-request", channel="email", source_key="demo:1", requester=gp, trust="verified",
                     subject="Patient en arrêt long, risque de désinsertion", reason=DEMO_TEXTS[0],
                     worker=DEMO_WORKERS[0], employer=EmployerRef(siret="04423065100018"),
                     stoppage=WorkStoppage(start=today - timedelta(days=60), cause="illness"),
                     consent=ConsentStatement(decision="permit", given_on=today, channel="oral",
                                              declared_by="third-party")),
        RequestDraft(event="pdp-referral", channel="form", source_key="demo:2", trust="form",
                     requester=Requester(kind="worker", name="Maëlle Guénolé"),
                     subject="Saisine de la cellule PDP", reason=DEMO_TEXTS[1], worker=DEMO_WORKERS[1],
                     employer=EmployerRef(siret="03821112200023"), job="Préparatrice de commandes",
                     stoppage=WorkStoppage(start=today - timedelta(days=45), cause="illness"),
                     consent=ConsentStatement(decision="permit", given_on=today, channel="web",
                                              declared_by="worker")),
        RequestDraft(event="coordination-request", channel="fhir", source_key="demo:3", trust="api",
                     requester=Requester(kind="coordinator", name="Emma Roux", structure_id="CPTS-NANTES-NORD"),
                     subject="Demande de coordination", reason=DEMO_TEXTS[2], worker=DEMO_WORKERS[2],
                     consent=ConsentStatement(decision="permit", given_on=today, channel="oral",
                                              declared_by="third-party")),
    ]
    for draft in drafts:
        await hub.intake.submit(draft, actor)
    return list(DEMO_LOGINS)
