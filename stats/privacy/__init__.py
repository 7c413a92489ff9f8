"""Privacy operations: erase a member from a guild (``erase``), keep a member untracked
(``optouts``). Each is recorded in ``PrivacyAudit``."""
