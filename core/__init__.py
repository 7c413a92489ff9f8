"""The bottom layer: the event contract and helpers shared by every app. Imports no app."""
