"""Sender trust (who wrote, as far as the hub can stand behind it) and where a clinical answer may go.

See ``labels`` (the words the inbox shows), ``answers`` (the one decision: MSSanté, secure pickup, plain email or
the API) and ``delivery`` (carrying a physician's answer out along that decision)."""
