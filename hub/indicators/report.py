"""From figures to what people read: tables of cells with small counts masked, as JSON or CSV.

Contract: ``build_report(figures, targets) -> Report``; a :class:`Report` has ``tables`` (activity, delays,
backlog, refusals, delivery), each with English column ids (JSON), French headers, one row per group and a
``Total`` row. Masking: a count from 1 to 4 is shown as ``"< 5"`` (JSON: the string ``"< 5"``); so that none can
be found back by subtraction (a total minus the other cells of its column, ``received`` minus ``routed
automatically``), further counts are hidden as ``"masqué"`` (``hub.indicators.suppression``, over the relations
of the activity, backlog and target counts together, and of each of the refusals and delivery tables); a share
is shown only when its count and its whole are shown and the whole is at least 5; a median or 90th percentile
only over at least 5 requests (else ``None`` / "—"): a percentile is a duration, it gives no count back.
The same cells feed the page, the CSV, the JSON and the FHIR MeasureReport.
``report.to_json()`` is the ``/api/indicators`` body; ``table.to_csv()`` one CSV file (``;``, UTF-8 with BOM,
as French spreadsheets expect).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.indicators.config import IndicatorSettings
from hub.indicators.figures import Figures, Group
from hub.indicators.period import DIMENSION_LABELS
from hub.indicators.suppression import PRIMARY, SECONDARY, suppress

SMALL = 5
MASKED = "< 5"
HIDDEN = "masqué"
TOTAL = "*"
CHANNEL_LABELS = {"email": "Courriel", "fhir": "API (CPTS/DAC)", "form": "Formulaire en ligne", "mssante": "MSSanté"}
EVENT_LABELS = {"pre-return-visit-request": "Visite de pré-reprise", "pdp-referral": "Saisine de la cellule PDP",
                "coordination-request": "Demande de coordination"}
REASON_LABELS = {
    "employer-cannot-request": "Demandeur non habilité (employeur)", "requester-unknown": "Demandeur inconnu",
    "stoppage-too-short": "Arrêt de travail trop court", "stoppage-missing": "Arrêt de travail non indiqué",
    "stoppage-over": "Arrêt de travail terminé", "cause-not-eligible": "Cause de l'arrêt non éligible",
    "consent-missing": "Consentement du salarié absent", "consent-date-missing": "Date du consentement absente",
    "consent-date-future": "Date du consentement dans le futur",
    "consent-channel-unknown": "Canal du consentement inconnu",
}
PURPOSE_LABELS = {"ack": "Accusés de réception", "reply": "Réponses", "notify": "Notifications aux médecins",
                  "confirmation": "Confirmations de formulaire", "info-request": "Demandes de précisions",
                  "pickup": "Liens de retrait sécurisé", "indicators-link": "Liens vers ses indicateurs (médecins)"}


@dataclass(frozen=True)
class Cell:
    value: int | float | None  # None: nothing to show (masked or undefined)
    text: str
    masked: bool = False

    def json(self) -> int | float | str | None:
        return self.text if self.masked else self.value


def count(n: int) -> Cell:
    return masked(n, PRIMARY if 0 < n < SMALL else None)


def masked(n: int, hidden: str | None) -> Cell:
    """A count as shown: ``"< 5"`` when small, ``"masqué"`` when hidden so that no small one can be found by
    subtraction (``hub.indicators.suppression``), else the number."""
    if hidden == PRIMARY:
        return Cell(None, MASKED, True)
    if hidden == SECONDARY:
        return Cell(None, HIDDEN, True)
    return Cell(n, str(n))


def share(part: Cell, whole: Cell) -> Cell:
    """A share, shown only when both its counts are shown and the whole is at least 5 (a share of a hidden count
    would give the count back)."""
    if part.value is None or whole.value is None or whole.value < SMALL:
        return Cell(None, "—")
    value = round(100.0 * part.value / whole.value, 1)
    return Cell(value, f"{value:.0f} %".replace(".", ","))


def spread(group: Group, metric: str, which: int, unit: str) -> Cell:
    n, *values = group.spread.get(metric, (0, None, None))
    value = values[which]
    if n < SMALL or value is None:
        return Cell(None, "—")
    value = round(value, 1)
    text = f"{value:.1f}".replace(".", ",").removesuffix(",0")
    return Cell(value, f"{text} {unit}")


@dataclass
class Table:
    id: str
    title: str
    columns: list[tuple[str, str]]  # (id, French header)
    first: str  # header of the label column
    rows: list[tuple[str, str, list[Cell]]] = field(default_factory=list)  # (key, label, cells)
    chart: int = 0  # the column drawn as a chart
    percent: bool = False  # the chart column is a share (0–100)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "columns": [c for c, _ in self.columns],
                "rows": [{"key": key, "label": label, **{c: cell.json() for (c, _), cell in zip(self.columns, cells,
                                                                                                  strict=True)}}
                         for key, label, cells in self.rows]}

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([self.first, *(h for _, h in self.columns)])
        for _, label, cells in self.rows:
            writer.writerow([label, *(c.text if c.value is None else _csv_number(c.value) for c in cells)])
        return "\ufeff" + out.getvalue()


def _csv_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace(".", ",")


@dataclass
class Report:
    figures: Figures
    tables: list[Table]
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def computed_label(self) -> str:
        """When the figures were computed, in French and in Paris time."""
        try:
            moment = self.computed_at.astimezone(ZoneInfo("Europe/Paris"))
        except ZoneInfoNotFoundError:  # no time zone database: say UTC
            return f"{self.computed_at:%d/%m/%Y à %H:%M} (UTC)"
        return f"{moment:%d/%m/%Y à %H:%M}"

    def table(self, table_id: str) -> Table | None:
        return next((t for t in self.tables if t.id == table_id), None)

    def to_json(self) -> dict[str, Any]:
        p = self.figures.period
        return {"period": {"from": p.start.isoformat(), "to": p.end.isoformat(), "label": p.label()},
                "by": self.figures.by, **({"gp": self.figures.gp} if self.figures.gp else {}),
                "small_count_threshold": SMALL,
                "computed_at": self.computed_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
                "tables": [t.to_json() for t in self.tables]}


def group_label(by: str, group: Group) -> str:
    if group.key == "*":
        return "Total"
    if by == "channel":
        return CHANNEL_LABELS.get(group.key, group.key)
    if by == "event":
        return EVENT_LABELS.get(group.key, group.key)
    if by == "team":
        return group.name or "Sans équipe (file de tri)"
    from hub.intake.service import requester_label  # here: hub.intake records refusals through this package

    return group.name or requester_label(group.key.removeprefix("k:"))


def _sort_key(label: str) -> str:
    return unicodedata.normalize("NFD", label).encode("ascii", "ignore").decode().casefold()


def _columns(rows: Sequence[str], columns: Sequence[str], total: str = TOTAL
              ) -> list[tuple[tuple[str, str], list[tuple[str, str]]]]:
    """Each column of a table sums to its ``Total`` row: one relation per column."""
    return [((c, total), [(c, r) for r in rows if r != total]) for c in columns]


def build_report(figures: Figures, targets: IndicatorSettings) -> Report:
    by = figures.by
    first = DIMENSION_LABELS[by]
    groups = [*sorted(figures.groups, key=lambda g: _sort_key(group_label(by, g))), figures.total]
    keys = [g.key for g in groups]
    # every count of the groups' tables, hidden together (secondary suppression over their relations)
    numbers: dict[tuple[str, str], int] = {}
    for g in groups:
        numbers.update({("received", g.key): g.received, ("routed_automatically", g.key): g.received - g.triaged,
                        ("through_triage", g.key): g.triaged, ("answered", g.key): g.answered,
                        ("closed", g.key): g.closed, ("waiting_for_sender", g.key): g.waiting,
                        ("within_target", g.key): g.within_target, ("open_at_end", g.key): g.backlog})
    relations = _columns(keys, sorted({c for c, _ in numbers}))
    relations += [(("received", k), [("routed_automatically", k), ("through_triage", k)]) for k in keys]
    hidden = suppress(numbers, relations, SMALL)

    def cell(column: str, key: str) -> Cell:
        return masked(numbers[(column, key)], hidden.get((column, key)))

    activity = Table("activity", "Demandes reçues et leur traitement", [
        ("received", "Reçues"), ("routed_automatically", "Orientées automatiquement"),
        ("through_triage", "Passées par la file de tri"), ("answered", "Répondues"), ("closed", "Closes"),
        ("waiting_for_sender", "En attente de l'expéditeur (aujourd'hui)")], first)
    delays = Table("delays", "Délais (jours ouvrés, hors jours fériés)", [
        ("answered", "Répondues"), ("answer_median", "1re réponse : médiane"),
        ("answer_p90", "1re réponse : 90e centile"), ("within_target", "Répondues dans le délai cible"),
        ("close_median", "Clôture : médiane"), ("close_p90", "Clôture : 90e centile"),
        ("triage_median_hours", "File de tri : médiane"), ("triage_p90_hours", "File de tri : 90e centile")],
        first, chart=3, percent=True,
        note=f"Délai cible : {targets.default_target_days} jours ouvrés" + "".join(
            f", {EVENT_LABELS.get(k, k).lower()} : {v}" for k, v in sorted(targets.target_days.items())) + ".")
    backlog = Table("backlog", "Demandes en cours à la fin de la période",
                    [("open_at_end", "En cours à la fin de la période")], first)
    for g in groups:
        label = group_label(by, g)
        if g.received or g.key == TOTAL:
            activity.rows.append((g.key, label, [cell(c, g.key) for c, _ in activity.columns]))
            delays.rows.append((g.key, label, [
                cell("answered", g.key), spread(g, "answer", 0, "j"), spread(g, "answer", 1, "j"),
                share(cell("within_target", g.key), cell("received", g.key)), spread(g, "close", 0, "j"),
                spread(g, "close", 1, "j"), spread(g, "triage", 0, "h"), spread(g, "triage", 1, "h")]))
        backlog.rows.append((g.key, label, [cell("open_at_end", g.key)]))
    refusals = Table("refusals", "Demandes refusées par les contrôles légaux, par motif",
                     [("pre_return", "Visites de pré-reprise"), ("all_kinds", "Toutes demandes")], "Motif", chart=0,
                     note="Une demande refusée pour deux motifs compte dans chacun.")
    rows = [(reason, REASON_LABELS.get(reason, reason), [pre, every]) for reason, pre, every in figures.refusals]
    rows.append((TOTAL, "Demandes refusées (tous motifs)", list(figures.refused)))
    _fill(refusals, rows)
    delivery = Table("delivery", "Messages sortants créés dans la période", [
        ("sent", "Envoyés"), ("sent_after_retry", "dont après un nouvel essai"), ("pending", "En attente"),
        ("dead", "En échec définitif")], "Message")
    rows = [(purpose, PURPOSE_LABELS.get(purpose, purpose), list(values)) for purpose, *values in figures.delivery]
    rows.append((TOTAL, "Total", [sum(int(row[i]) for row in figures.delivery) for i in (1, 2, 3, 4)]))
    _fill(delivery, rows)
    if figures.gp is not None:  # refusals are attributed to no one: not a GP's figure
        return Report(figures, [activity, delays, backlog, delivery])
    return Report(figures, [activity, delays, backlog, refusals, delivery])


def _fill(table: Table, rows: list[tuple[str, str, list[int]]]) -> None:
    """A table whose columns each sum to its last (``Total``) row (a refusal with two reasons counts in each:
    taken as a sum all the same, which can only hide more)."""
    columns = [c for c, _ in table.columns]
    numbers = {(c, key): v for key, _, values in rows for c, v in zip(columns, values, strict=True)}
    hidden = suppress(numbers, _columns([key for key, _, _ in rows], columns), SMALL)
    for key, label, _ in rows:
        table.rows.append((key, label, [masked(numbers[(c, key)], hidden.get((c, key))) for c in columns]))
