"""The SQLite stores beside the HTTP cache: the catalog history, the trials.

:mod:`.sqlite` holds what they share (WAL, busy timeout, ``BEGIN IMMEDIATE``,
schema versions); each store is one module on top of it.
"""
