"""Several instances on one database (DESIGN "Scale"): what they share lives in the database.

- :mod:`hub.scale.ratelimit` — token buckets counted across instances (forms, SMART clients, logins);
- :mod:`hub.scale.claims` — the outbox claims' heartbeat: an instance that stops renewing loses its rows;
- :mod:`hub.scale.leases` — named leases (one MSSanté reader at a time);
- :mod:`hub.scale.wakeups` — ``LISTEN/NOTIFY`` wake-ups of the background loops, polling as the fallback.
"""
