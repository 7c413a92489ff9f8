"""Writes of the moderation app: ``reports`` turns events into reports of actions, ``cases``
records them as numbered cases (merging an action reported twice)."""
