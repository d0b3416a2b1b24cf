"""Cryptography at rest: the key store, envelope encryption and keyed hashes for lookups."""
