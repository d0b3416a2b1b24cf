"""Guichet hub: the transport-free core (storage, directory, intake, routing, inbox, outbox, audit)."""
