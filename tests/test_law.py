"""The legal rules of ``hub.intake.law`` (fast unit tests: no database, no server)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.intake import ConsentStatement, Person, RequestDraft, Requester, WorkStoppage
from hub.intake.law import (
    EMPLOYER_ALTERNATIVES_FR,
    add_months,
    check_request,
    stoppage_long_enough,
)

TODAY = date(2026, 5, 15)
THIRD_PARTY_CONSENT = ConsentStatement(decision="permit", given_on=TODAY - timedelta(days=2), channel="oral",
                                       declared_by="third-party")


def draft(event: str = "pre-return-visit-request", kind: str = "worker", start: date | None = None,
          end: date | None = None, cause: str = "illness", consent: ConsentStatement | None = None,
          rpps: str | None = None, stoppage: bool = True) -> RequestDraft:
    if start is None:
        start = TODAY - timedelta(days=40)
    return RequestDraft(
        event=event, channel="form", source_key="t", requester=Requester(kind=kind, name="X", rpps=rpps),
        worker=Person(family_name="Durand", given_names="Léa", birth_date=date(1980, 1, 1)),
        stoppage=WorkStoppage(start=start, end=end, cause=cause) if stoppage else None,
        consent=consent if consent is not None or kind == "worker" else THIRD_PARTY_CONSENT)


def codes(d: RequestDraft, today: date = TODAY) -> list[tuple[str, str]]:
    return [(v.field, v.code) for v in check_request(d, today)]


# -- who may ask for a pré-reprise ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["worker", "gp", "medecin_conseil", "mdt"])
def test_allowed_pre_return_requesters(kind: str) -> None:
    assert codes(draft(kind=kind)) == []


def test_employer_cannot_request_pre_return_and_is_told_alternatives() -> None:
    found = check_request(draft(kind="employer"), TODAY)
    assert [(v.field, v.code) for v in found] == [("requester.kind", "employer-cannot-request")]
    assert found[0].fr == EMPLOYER_ALTERNATIVES_FR
    for words in ("informer le salarié", "rendez-vous de liaison", "visite de reprise"):
        assert words in found[0].fr


@pytest.mark.parametrize("kind", ["specialist", "partner", "coordinator", "other"])
def test_other_requesters_cannot_request_pre_return(kind: str) -> None:
    found = check_request(draft(kind=kind), TODAY)
    assert [(v.field, v.code) for v in found] == [("requester.kind", "requester-not-allowed")]
    assert "saisine de la cellule PDP" in found[0].fr


def test_unknown_requester_kind() -> None:
    assert ("requester.kind", "requester-unknown") in codes(draft(kind="hacker"))
    assert ("requester.kind", "requester-unknown") in codes(draft(event="pdp-referral", kind=""))


@pytest.mark.parametrize("kind", ["worker", "gp", "specialist", "employer", "partner", "medecin_conseil", "other"])
def test_anyone_may_refer_to_the_pdp_cell(kind: str) -> None:
    assert codes(draft(event="pdp-referral", kind=kind)) == []


@pytest.mark.parametrize("kind", ["worker", "gp", "employer", "partner"])
def test_pdp_referral_without_an_arret_is_fine(kind: str) -> None:
    assert codes(draft(event="pdp-referral", kind=kind, stoppage=False)) == []


# -- length of the arrêt ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("days", "ok"), [(29, False), (30, False), (31, True), (32, True)])
def test_thirty_days_threshold_counted_to_the_expected_end(days: int, ok: bool) -> None:
    start = TODAY - timedelta(days=10)
    end = start + timedelta(days=days - 1)  # both ends count: start..end is `days` days
    found = codes(draft(start=start, end=end))
    assert (found == []) is ok
    if not ok:
        assert found == [("stoppage.end", "stoppage-too-short")]


@pytest.mark.parametrize(("elapsed", "ok"), [(29, False), (30, False), (31, True)])
def test_thirty_days_threshold_counted_to_today_without_end(elapsed: int, ok: bool) -> None:
    start = TODAY - timedelta(days=elapsed - 1)
    found = check_request(draft(start=start), TODAY)
    assert (found == []) is ok
    if not ok:
        assert [(v.field, v.code) for v in found] == [("stoppage.start", "stoppage-too-short")]
        assert f"{elapsed} jours" in found[0].fr


def test_arret_starting_2022_03_31_needs_more_than_three_months() -> None:
    start = date(2022, 3, 31)
    today = date(2022, 4, 20)
    # 31 days would be enough after the reform, not before it
    assert codes(draft(start=start, end=start + timedelta(days=30)), today) == [
        ("stoppage.end", "stoppage-too-short")]
    found = check_request(draft(start=start, end=date(2022, 6, 29)), today)  # 3 months exactly: 31/3 → 29/6
    assert [(v.field, v.code) for v in found] == [("stoppage.end", "stoppage-too-short")]
    assert "avant le 1er avril 2022" in found[0].fr
    assert codes(draft(start=start, end=date(2022, 6, 30)), today) == []  # one day more than 3 months


def test_arret_starting_2022_04_01_needs_more_than_thirty_days() -> None:
    start = date(2022, 4, 1)
    today = date(2022, 4, 20)
    assert codes(draft(start=start, end=date(2022, 5, 1)), today) == []  # 31 days
    assert codes(draft(start=start, end=date(2022, 4, 30)), today) == [("stoppage.end", "stoppage-too-short")]


def test_three_month_rule_counted_to_today_when_no_end() -> None:
    start = date(2022, 1, 10)
    assert codes(draft(start=start), date(2022, 4, 9)) == [("stoppage.start", "stoppage-too-short")]
    assert codes(draft(start=start), date(2022, 4, 10)) == []


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2021, 11, 30), 3) == date(2022, 2, 28)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert add_months(date(2021, 10, 15), 3) == date(2022, 1, 15)


def test_stoppage_long_enough_helper() -> None:
    assert stoppage_long_enough(WorkStoppage(start=date(2024, 1, 1), end=date(2024, 1, 31)), TODAY)
    assert not stoppage_long_enough(WorkStoppage(start=date(2024, 1, 1), end=date(2024, 1, 30)), TODAY)


# -- during the arrêt ----------------------------------------------------------------------------------------
def test_arret_already_over() -> None:
    found = codes(draft(start=TODAY - timedelta(days=60), end=TODAY - timedelta(days=1)))
    assert found == [("stoppage.end", "stoppage-over")]


def test_arret_ending_today_is_still_during_the_arret() -> None:
    assert codes(draft(start=TODAY - timedelta(days=60), end=TODAY)) == []


def test_arret_starting_in_the_future() -> None:
    found = codes(draft(start=TODAY + timedelta(days=1), end=TODAY + timedelta(days=60)))
    assert found == [("stoppage.start", "start-in-future")]


def test_arret_starting_today_with_long_expected_end() -> None:
    assert codes(draft(start=TODAY, end=TODAY + timedelta(days=30))) == []
    assert codes(draft(start=TODAY, end=TODAY + timedelta(days=29))) == [("stoppage.end", "stoppage-too-short")]


def test_end_before_start() -> None:
    found = codes(draft(start=TODAY - timedelta(days=5), end=TODAY - timedelta(days=40)))
    assert found == [("stoppage.end", "end-before-start")]
    found = codes(draft(event="pdp-referral", kind="worker", start=TODAY - timedelta(days=5),
                        end=TODAY - timedelta(days=40)))
    assert found == [("stoppage.end", "end-before-start")]


def test_pre_return_needs_an_arret() -> None:
    assert codes(draft(stoppage=False)) == [("stoppage.start", "stoppage-missing")]
    found = codes(draft(kind="employer", stoppage=False))
    assert found == [("requester.kind", "employer-cannot-request"), ("stoppage.start", "stoppage-missing")]


@pytest.mark.parametrize("cause", ["illness", "work-accident", "occupational-disease"])
def test_pre_return_causes(cause: str) -> None:
    assert codes(draft(cause=cause)) == []


def test_pre_return_not_for_maternity_leave() -> None:
    assert codes(draft(cause="maternity")) == [("stoppage.cause", "cause-not-eligible")]
    assert codes(draft(event="pdp-referral", cause="maternity")) == []


def test_unknown_cause() -> None:
    assert codes(draft(cause="vacances")) == [("stoppage.cause", "cause-unknown")]
    assert codes(draft(event="pdp-referral", cause="")) == [("stoppage.cause", "cause-unknown")]


def test_pdp_referral_arret_in_the_future() -> None:
    assert codes(draft(event="pdp-referral", start=TODAY + timedelta(days=3))) == [
        ("stoppage.start", "start-in-future")]


# -- consent -------------------------------------------------------------------------------------------------
def test_worker_own_submission_is_consent() -> None:
    assert codes(draft(kind="worker", consent=None)) == []
    assert codes(draft(event="pdp-referral", kind="worker", consent=None)) == []


@pytest.mark.parametrize("event", ["pre-return-visit-request", "pdp-referral", "coordination-request"])
@pytest.mark.parametrize("kind", ["gp", "medecin_conseil"])
def test_third_party_without_consent(event: str, kind: str) -> None:
    d = draft(event=event, kind=kind)
    d.consent = None
    assert ("consent", "consent-missing") in codes(d)


@pytest.mark.parametrize("kind", ["gp", "specialist", "employer", "partner", "medecin_conseil", "other"])
def test_third_party_pdp_referral_consent_cases(kind: str) -> None:
    assert codes(draft(event="pdp-referral", kind=kind)) == []
    denied = ConsentStatement(decision="deny", given_on=TODAY, channel="oral", declared_by="third-party")
    assert codes(draft(event="pdp-referral", kind=kind, consent=denied)) == [("consent", "consent-missing")]
    undated = ConsentStatement(decision="permit", given_on=None, channel="oral", declared_by="third-party")
    assert codes(draft(event="pdp-referral", kind=kind, consent=undated)) == [("consent.date",
                                                                                "consent-date-missing")]
    future = ConsentStatement(decision="permit", given_on=TODAY + timedelta(days=1), channel="paper",
                              declared_by="third-party")
    assert codes(draft(event="pdp-referral", kind=kind, consent=future)) == [("consent.date",
                                                                               "consent-date-future")]
    today = ConsentStatement(decision="permit", given_on=TODAY, channel="email", declared_by="third-party")
    assert codes(draft(event="pdp-referral", kind=kind, consent=today)) == []


def test_consent_channel_must_be_known() -> None:
    odd = ConsentStatement(decision="permit", given_on=TODAY, channel="pigeon", declared_by="third-party")
    assert codes(draft(event="pdp-referral", kind="gp", consent=odd)) == [("consent.channel",
                                                                           "consent-channel-unknown")]


def test_reply_needs_no_consent() -> None:
    d = draft(event="reply", kind="gp", stoppage=False)
    d.consent = None
    assert codes(d) == []


# -- identifiers and events ----------------------------------------------------------------------------------
def test_rpps_key_checked_when_given() -> None:
    assert codes(draft(kind="gp", rpps="10000000017")) == []
    assert codes(draft(kind="gp", rpps="10000000018")) == [("requester.rpps", "rpps-invalid")]
    assert codes(draft(kind="gp", rpps="1234")) == [("requester.rpps", "rpps-invalid")]


def test_unknown_event() -> None:
    assert ("event", "unknown-event") in codes(draft(event="visite-magique"))


def test_every_violation_has_both_languages() -> None:
    d = draft(kind="employer", cause="maternity", start=TODAY - timedelta(days=3), rpps="123")
    d.consent = None
    found = check_request(d, TODAY)
    assert {v.field for v in found} >= {"requester.kind", "requester.rpps", "stoppage.cause", "stoppage.start",
                                        "consent"}
    for v in found:
        assert v.fr and v.en and v.fr != v.en


# -- the full matrix: every requester kind × every arrêt case, for both events -------------------------------
KIND_CODE = {"worker": None, "gp": None, "medecin_conseil": None, "mdt": None,
             "employer": "employer-cannot-request", "specialist": "requester-not-allowed",
             "partner": "requester-not-allowed", "coordinator": "requester-not-allowed",
             "other": "requester-not-allowed"}
ARRET_CASES = {  # name: (start, end, pre-return violation, violation for any other event)
    "31 days to the expected end": (TODAY - timedelta(days=10), TODAY + timedelta(days=20), None, None),
    "30 days to the expected end": (TODAY - timedelta(days=10), TODAY + timedelta(days=19),
                                    ("stoppage.end", "stoppage-too-short"), None),
    "31 days so far, no end": (TODAY - timedelta(days=30), None, None, None),
    "30 days so far, no end": (TODAY - timedelta(days=29), None, ("stoppage.start", "stoppage-too-short"), None),
    "over yesterday": (TODAY - timedelta(days=90), TODAY - timedelta(days=1), ("stoppage.end", "stoppage-over"),
                       None),
    "starts tomorrow": (TODAY + timedelta(days=1), TODAY + timedelta(days=60),
                        ("stoppage.start", "start-in-future"), ("stoppage.start", "start-in-future")),
    "pre-reform, 3 months + 1 day": (date(2022, 1, 10), date(2022, 4, 10), None, None),
    "pre-reform, exactly 3 months": (date(2022, 1, 10), date(2022, 4, 9), ("stoppage.end", "stoppage-too-short"),
                                     None),
}
PRE_REFORM_TODAY = date(2022, 3, 1)


@pytest.mark.parametrize("kind", sorted(KIND_CODE))
@pytest.mark.parametrize("case", sorted(ARRET_CASES))
def test_matrix_pre_return(kind: str, case: str) -> None:
    start, end, expected, _ = ARRET_CASES[case]
    today = PRE_REFORM_TODAY if start.year == 2022 else TODAY
    consent = ConsentStatement(decision="permit", given_on=today, channel="paper", declared_by="third-party")
    found = codes(draft(kind=kind, start=start, end=end, consent=consent), today)
    wanted = ([("requester.kind", KIND_CODE[kind])] if KIND_CODE[kind] else []) + ([expected] if expected else [])
    assert found == wanted


@pytest.mark.parametrize("kind", sorted(KIND_CODE))
@pytest.mark.parametrize("case", sorted(ARRET_CASES))
def test_matrix_pdp_referral(kind: str, case: str) -> None:
    start, end, _, expected = ARRET_CASES[case]
    today = PRE_REFORM_TODAY if start.year == 2022 else TODAY
    consent = ConsentStatement(decision="permit", given_on=today, channel="paper", declared_by="third-party")
    found = codes(draft(event="pdp-referral", kind=kind, start=start, end=end, consent=consent), today)
    assert found == ([expected] if expected else [])
