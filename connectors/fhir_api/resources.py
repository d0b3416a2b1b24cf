"""FHIR R4 JSON the API answers with, built as plain dicts (no model round trip on the hot path).

Contract: ``task(...)`` is the Task of a request (``Task.id`` = the request id, status = the request's status,
``identifier`` = the human reference); ``communication(...)`` one message of the thread; ``response_bundle(...)``
the message answer to ``$process-message`` (``MessageHeader.response.identifier`` = the request's MessageHeader
id, code ``ok``, ``focus`` → the Task, the Task included). The answer's ids are derived from the request, so the
same message sent twice gets the same answer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from connectors.fhir_api.systems import MESSAGE_EVENT, MESSAGE_KIND, REFERENCE

ANSWER_NAMESPACE = uuid.UUID("6f1c1d8e-5f0e-4d7a-9a55-2b7c3f0f9e11")


def instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def task(task_id: str, status: str, event: str, reference: str | None, *, business_status: str | None = None,
         created: datetime | None = None, updated: datetime | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Task", "id": task_id}
    if updated is not None:
        out["meta"] = {"lastUpdated": instant(updated)}
    if reference:
        out["identifier"] = [{"system": REFERENCE, "value": reference}]
    out["status"] = status
    if business_status:
        out["businessStatus"] = {"text": business_status}
    out["intent"] = "order"
    out["code"] = {"coding": [{"system": MESSAGE_EVENT, "code": event}]}
    if created is not None:
        out["authoredOn"] = instant(created)
    if updated is not None:
        out["lastModified"] = instant(updated)
    return out


def communication(message_id: str, task_id: str, direction: str, kind: str, author: str | None, body: str,
                  sent: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Communication", "id": message_id, "meta": {"lastUpdated": instant(sent)},
        "basedOn": [{"reference": f"Task/{task_id}"}], "status": "completed",
        "category": [{"coding": [{"system": MESSAGE_KIND, "code": kind}]}],
        "sent": instant(sent), "payload": [{"contentString": body}],
    }
    party = {"display": author or ("Service de prévention et de santé au travail" if direction == "out" else "")}
    if direction == "out":
        out["sender"] = party
    else:
        out["sender"] = party if party["display"] else {"display": "Client"}
    return out


def response_bundle(base_url: str, request_header_id: str, client_id: str, event: str, task_resource: dict[str, Any]
                    ) -> dict[str, Any]:
    header_id = str(uuid.uuid5(ANSWER_NAMESPACE, f"{client_id}:{request_header_id}"))
    task_url = f"{base_url}/fhir/Task/{task_resource['id']}"
    return {
        "resourceType": "Bundle", "id": str(uuid.uuid5(ANSWER_NAMESPACE, f"bundle:{client_id}:{request_header_id}")),
        "type": "message", "timestamp": instant(datetime.now(UTC)),
        "entry": [
            {"fullUrl": f"urn:uuid:{header_id}", "resource": {
                "resourceType": "MessageHeader", "id": header_id,
                "eventCoding": {"system": MESSAGE_EVENT, "code": event},
                "source": {"name": "Guichet unique SPSTI", "endpoint": f"{base_url}/fhir"},
                "response": {"identifier": request_header_id, "code": "ok"},
                "focus": [{"reference": task_url}]}},
            {"fullUrl": task_url, "resource": task_resource},
        ],
    }


def searchset(base_url: str, resources: list[dict[str, Any]], self_link: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "link": [{"relation": "self", "url": self_link}],
            "entry": [{"fullUrl": f"{base_url}/fhir/{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in resources]}
