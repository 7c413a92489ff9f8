"""Stage 1, ingest: a bot frame is decoded, validated, stored with its ledger rows and acknowledged;
processing is enqueued on commit (``frames``), at most one queued drain per shard (``claims``)."""
