"""The SPSTI directory: identifiers, import/export, lookups used by routing."""
