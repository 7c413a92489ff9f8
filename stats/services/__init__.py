"""Stage 2, processing: pending batches are drained shard by shard (``drain``); each chunk is
dispatched to the handlers the apps registered (``dispatch``, ``core.registry``); counters,
voice sessions and bot snapshots are this app's handlers; poison events go to ``quarantine``."""
