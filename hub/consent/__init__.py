"""The worker's consent and objections (DESIGN "Consent", docs/consent.md).

``purposes`` (the vocabulary and what each purpose requires), ``identity`` (the keyed worker identity),
``registry`` (decisions with their history, sealed, audited), ``gate`` (the one check before clinical content
leaves the hub), ``intake`` (what a request says about consent, recorded at intake), ``service`` (the registry of
one inbox request), ``followup`` (the worker's choices on their follow-up page), ``api`` (a FHIR client's view),
``recommendations``, ``leak`` and ``dispatch`` (pré-reprise recommendations to the employer and the médecin
conseil). Web and FHIR handlers are thin layers over these.
"""
