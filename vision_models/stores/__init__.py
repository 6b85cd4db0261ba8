"""The SQLite stores beside the HTTP cache: the trials store, and the base the catalog history is built on.

:mod:`.sqlite` holds what they share (WAL, busy timeout, ``BEGIN IMMEDIATE``,
schema versions); :mod:`.trials` is the trials store on top of it, and
:mod:`vision_models.catalog.history` the catalog history.
"""
