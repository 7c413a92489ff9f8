"""Writes of the invites app: ``joins`` applies invite and membership events, ``accounting``
credits inviters, keeps the member lifecycle and the growth per day."""
