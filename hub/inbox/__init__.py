"""The physicians' inbox, transport-free: who sees what (``access``), the boxes (``boxes``), a thread and its
attachments (``threads``), the actions (``actions``, ``reassign``), the Task state machine (``task_status``) and
the search through keyed hashes (``search``). The web handlers in ``hub.web.inbox_*`` are thin layers over these.
"""
