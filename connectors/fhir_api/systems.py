"""The code systems and identifier systems the API reads and writes (see ``schemas/fhir``)."""

from __future__ import annotations

MESSAGE_EVENT = "urn:guichet:message-event"
OBSERVATION = "urn:guichet:observation"
WORK_STOPPAGE = "work-stoppage"
STOPPAGE_CAUSE = "urn:guichet:work-stoppage-cause"
REQUESTER_KIND = "urn:guichet:requester-kind"
REFERENCE = "urn:guichet:reference"
MESSAGE_KIND = "urn:guichet:message-kind"
RPPS = "https://rpps.esante.gouv.fr"
SIRENE = "https://sirene.fr"
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
INS_SYSTEMS = ("urn:oid:1.2.250.1.213.1.4.8", "urn:oid:1.2.250.1.213.1.4.9", "urn:oid:1.2.250.1.213.1.4.10",
               "urn:oid:1.2.250.1.213.1.4.11")
IDENTITY_RELIABILITY = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
QUALIFIED = "QUAL"
INSEE_CODE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
FOCUS_TYPE = {"pre-return-visit-request": "ServiceRequest", "pdp-referral": "ServiceRequest",
              "coordination-request": "Communication", "reply": "Communication"}
REQUESTER_TYPES = ("Practitioner", "Patient", "Organization")
