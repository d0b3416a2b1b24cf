"""Secure pickup (``/retrait/{token}``): a clinical answer is read on a page, never sent in an email.

``service`` creates a pickup in the sender's transaction and runs the correspondent's steps (open the link, ask
for a code, give it, read, answer); ``mails`` writes the two emails (the link, the code), neither with health
data."""
