"""HTTP handlers of the public forms: thin, over ``fields``, ``uploads``, ``guard``, ``followup`` and intake.

Routes: ``GET|POST /saisine-pdp``, ``GET|POST /demande-pre-reprise``, ``GET /saisine-pdp/employeurs`` and
``GET /demande-pre-reprise/employeurs`` (SIRET help: member employers by name and place), ``GET /suivi/{reference}``
and ``POST /suivi/{reference}`` (the worker who made the request objects or withdraws: ``hub.consent.followup``).
Answers: 200 (form, confirmation), 422 (the form again with its errors), 403 (CSRF check failed: the form again,
input kept, nothing stored), 400 (honeypot filled: refused, nothing stored, input kept), 413 (body too large),
429 (rate limit), 404 (follow-up link unknown or wrong token).
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from connectors.forms.fields import (
    CAUSES,
    CONSENT_CHANNELS,
    PARTNERS,
    PDP,
    PRE_RETURN,
    FormSpec,
    build_draft,
    place_violations,
)
from connectors.forms.guard import (
    CSRF_FIELD,
    HONEYPOT_FIELD,
    IDEMPOTENCY_FIELD,
    CsrfGuard,
    client_address,
)
from connectors.forms.uploads import Limits, TooLarge, read_form, size_fr
from hub import clock
from hub.audit import Actor
from hub.consent.followup import choices as consent_choices
from hub.consent.followup import decide as consent_decide
from hub.core import Hub
from hub.inbox.errors import InboxError
from hub.intake.errors import IntakeRefused
from hub.notices import follow_up_path
from hub.scale.ratelimit import Limit

log = logging.getLogger(__name__)
PARIS = clock.PARIS
JINJA: web.AppKey[jinja2.Environment] = web.AppKey("forms_jinja", jinja2.Environment)
FIELD_LABELS = {
    "requester_kind": "Qui fait la demande", "requester_partner": "Organisme partenaire",
    "requester_name": "Votre nom", "requester_email": "Votre adresse électronique",
    "requester_phone": "Votre téléphone", "requester_rpps": "Numéro RPPS",
    "worker_family_name": "Nom du salarié", "worker_given_names": "Prénom(s) du salarié",
    "worker_birth_date": "Date de naissance", "worker_ins": "Numéro INS", "employer_siret": "SIRET de l'employeur",
    "stoppage_has": "Arrêt de travail en cours", "stoppage_start": "Début de l'arrêt",
    "stoppage_cause": "Motif de l'arrêt", "stoppage_end": "Fin prévue de l'arrêt", "reason": "Motif de la demande",
    "consent": "Consentement du salarié", "consent_date": "Date du consentement",
    "consent_channel": "Recueil du consentement", "pieces": "Pièces jointes", "form": "Formulaire",
}


def today_paris() -> date:
    return clock.today()


@dataclass
class FormsSite:
    """The forms' collaborators: the hub, the CSRF guard, the rate limiters and the upload limits."""

    hub: Hub
    csrf: CsrfGuard
    submissions: Limit
    posts: Limit
    searches: Limit
    limits: Limits = field(default_factory=Limits)
    trusted_proxies: tuple[str, ...] = ()

    # -- rendering -------------------------------------------------------------------------------
    def page(self, request: web.Request, template: str, context: dict[str, Any], status: int = 200,
             no_store: bool = False) -> web.Response:
        cookies: dict[str, str] = {}
        context = {"csrf_token": self.csrf.token_for(request, cookies), "csrf_field": CSRF_FIELD,
                   "honeypot_field": HONEYPOT_FIELD, "idem_field": IDEMPOTENCY_FIELD, **context}
        response = aiohttp_jinja2.render_template(template, request, context, status=status, app_key=JINJA)
        self.csrf.set_cookies(response, cookies)
        if no_store:
            response.headers["Cache-Control"] = "no-store"
        return response

    def form_page(self, request: web.Request, spec: FormSpec, values: dict[str, str], errors: dict[str, list[str]],
                  status: int = 200, notice: str | None = None) -> web.Response:
        summary = [(name, FIELD_LABELS.get(name, name), msg) for name, msgs in errors.items() for msg in msgs]
        idem = values.get(IDEMPOTENCY_FIELD, "")
        try:
            idem = str(uuid.UUID(idem))
        except ValueError:
            idem = str(uuid.uuid4())
        return self.page(request, "formulaire.html", {
            "spec": spec, "v": values, "errors": errors, "summary": summary, "idem": idem, "notice": notice,
            "today": today_paris().isoformat(), "causes": CAUSES, "channels": CONSENT_CHANNELS,
            "partners": PARTNERS, "limits": self.limits, "max_size": size_fr(self.limits.file_bytes),
            "employer_refused": spec is PRE_RETURN and values.get("requester_kind") == "employer" and bool(errors),
        }, status=status, no_store=True)

    def refusal(self, request: web.Request, status: int, title: str, text: str,
                headers: dict[str, str] | None = None) -> web.Response:
        response = self.page(request, "refus.html", {"title": title, "text": text}, status=status)
        response.headers.update(headers or {})
        return response

    def address(self, request: web.Request) -> str:
        return client_address(request, self.trusted_proxies)

    def too_many(self, request: web.Request, seconds: float) -> web.Response:
        wait = max(1, math.ceil(seconds))
        minutes = max(1, (wait + 59) // 60)
        return self.refusal(request, 429, "Trop de demandes", (
            f"Trop de demandes ont été envoyées depuis votre connexion au cours de la dernière heure. Pour protéger "
            f"le service, merci de réessayer dans {minutes} minute{'s' if minutes > 1 else ''}. En cas d'urgence, "
            "contactez directement votre service de santé au travail par téléphone."),
            headers={"Retry-After": str(wait)})

    # -- the two forms ---------------------------------------------------------------------------
    async def show_form(self, request: web.Request, spec: FormSpec) -> web.Response:
        values = {}
        if request.query.get("siret"):
            values["employer_siret"] = request.query["siret"][:20]
        if request.query.get("employeur"):
            values["employer_name"] = request.query["employeur"][:200]
        return self.form_page(request, spec, values, {})

    async def post_form(self, request: web.Request, spec: FormSpec) -> web.Response:
        ip = self.address(request)
        wait = await self.submissions.wait_time(ip) or await self.posts.take(ip)
        if wait:
            return self.too_many(request, wait)
        try:
            posted = await read_form(request, self.limits)
        except TooLarge:
            return self.refusal(request, 413, "Envoi trop volumineux", (
                f"L'envoi dépasse la taille acceptée : {self.limits.max_files} fichiers au plus, "
                f"{size_fr(self.limits.file_bytes)} chacun. Rien n'a été enregistré : revenez au formulaire et "
                "joignez des fichiers plus légers."))
        values = {k: v for k, v in posted.fields.items() if k not in (CSRF_FIELD, HONEYPOT_FIELD)}
        reattach = ("Par sécurité, les fichiers joints ne sont pas conservés quand le formulaire doit être corrigé : "
                    "joignez-les à nouveau." if posted.files_offered else None)
        if not self.csrf.check(request, posted.fields.get(CSRF_FIELD, "")):
            return self.form_page(request, spec, values, {"form": [
                "Pour votre sécurité, ce formulaire a expiré ou n'a pas été envoyé depuis ce site (les cookies "
                "doivent être autorisés). Rien n'a été enregistré : vérifiez vos informations et envoyez-le à "
                "nouveau."]}, status=403, notice=reattach)
        if posted.fields.get(HONEYPOT_FIELD, "").strip():
            return self.form_page(request, spec, values, {"form": [
                "Le formulaire n'a pas pu être envoyé : un champ réservé à la détection des envois automatiques a "
                "été rempli. Rien n'a été enregistré : vérifiez vos informations et envoyez-le à nouveau."]},
                status=400, notice=reattach)
        idem = values.get(IDEMPOTENCY_FIELD, "")
        try:
            idem = str(uuid.UUID(idem))
        except ValueError:
            idem = values[IDEMPOTENCY_FIELD] = str(uuid.uuid4())
        draft, errors = build_draft(spec, posted.fields, posted.files, today_paris(), idem)
        if posted.file_errors:
            errors["pieces"] = posted.file_errors
        if errors or draft is None:
            return self.form_page(request, spec, values, errors, status=422, notice=reattach)
        try:
            result = await self.hub.intake.submit(draft, Actor(f"formulaire {spec.slug}", ip), today_paris())
        except IntakeRefused as refused:  # the core enforces the law even when the form's pre-check passed
            return self.form_page(request, spec, values, place_violations({}, refused.violations), status=422,
                                  notice=reattach)
        except Exception:  # noqa: BLE001 - storage unavailable: say so, keep the input, store nothing
            log.exception("form submission could not be stored")
            return self.form_page(request, spec, values, {"form": [
                "Le service est momentanément indisponible : votre demande n'a pas pu être enregistrée. Vos "
                "informations sont conservées sur cette page : réessayez dans quelques minutes."]},
                status=503, notice=reattach)
        link = path = None
        if result.created:
            await self.submissions.hit(ip)
        if result.follow_up_token:  # the confirmation email with this link was committed with the request
            path = follow_up_path(result.reference, result.follow_up_token)
            link = f"{self.hub.settings.base_url}{path}"
        return self.page(request, "confirmation.html", {
            "spec": spec, "reference": result.reference, "created": result.created, "path": path,
            "link": link, "email": draft.requester.email if result.created else None,
            "employer_side": draft.requester.kind == "employer"}, no_store=True)

    async def pdp_get(self, request: web.Request) -> web.Response:
        return await self.show_form(request, PDP)

    async def pdp_post(self, request: web.Request) -> web.Response:
        return await self.post_form(request, PDP)

    async def pre_return_get(self, request: web.Request) -> web.Response:
        return await self.show_form(request, PRE_RETURN)

    async def pre_return_post(self, request: web.Request) -> web.Response:
        return await self.post_form(request, PRE_RETURN)

    # -- SIRET help ------------------------------------------------------------------------------
    async def employers(self, request: web.Request) -> web.Response:
        spec = PDP if request.path.startswith("/saisine-pdp") else PRE_RETURN
        name, place = request.query.get("nom", "")[:100], request.query.get("lieu", "")[:40]
        context: dict[str, Any] = {"spec": spec, "nom": name, "lieu": place, "search": None}
        if name or place:
            ip = self.address(request)
            wait = await self.searches.take(ip)
            if wait:
                return self.too_many(request, wait)
            context["search"] = await self.hub.directory.employers(name, place)
        return self.page(request, "employeurs.html", context)

    # -- follow-up -------------------------------------------------------------------------------
    async def follow(self, request: web.Request) -> web.Response:
        reference = request.match_info["reference"]
        found = await self.hub.follow_ups.status(reference, request.query.get("t", ""),
                                Actor(f"suivi {reference}"[:200], self.address(request)))
        if found is None:
            return self.refusal(request, 404, "Lien de suivi inconnu", (
                "Ce lien de suivi n'existe pas ou n'est pas complet. Utilisez le lien exact reçu après l'envoi de "
                "votre demande (page de confirmation ou courriel)."))
        token = request.query.get("t", "")
        choices = await consent_choices(self.hub, reference, token,
                                        Actor(f"suivi {reference}"[:200], self.address(request)))
        response = self.page(request, "suivi.html", {
            "f": found, "choices": choices, "token": token,
            "choice_done": request.query.get("choix") == "ok"}, no_store=True)
        response.headers["X-Robots-Tag"] = "noindex"
        return response

    async def follow_choice(self, request: web.Request) -> web.StreamResponse:
        """The worker objects, withdraws or consents from their follow-up page (``hub.consent.followup``)."""
        ip, reference = self.address(request), request.match_info["reference"]
        wait = await self.posts.take(ip)
        if wait:
            return self.too_many(request, wait)
        form = await request.post()
        token, purpose, decision = (str(form.get(k, ""))[:200] for k in ("t", "purpose", "decision"))
        if not self.csrf.check(request, str(form.get(CSRF_FIELD, ""))):
            return self.refusal(request, 403, "Formulaire expiré", (
                "Pour votre sécurité, ce choix n'a pas été enregistré (formulaire expiré ou envoyé depuis un autre "
                "site). Revenez à la page de suivi et recommencez."))
        try:
            done = await consent_decide(self.hub, reference, token, purpose, decision,
                                        Actor(f"suivi {reference}"[:200], ip))
        except InboxError as exc:
            return self.refusal(request, exc.status, "Choix impossible", exc.message)
        if done is None:
            return self.refusal(request, 404, "Lien de suivi inconnu", (
                "Ce lien de suivi n'existe pas ou ne permet pas ce choix. Utilisez le lien exact reçu après l'envoi "
                "de votre demande."))
        raise web.HTTPSeeOther(f"/suivi/{quote(reference)}?t={quote(token)}&choix=ok")
