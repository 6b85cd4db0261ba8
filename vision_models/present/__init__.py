"""Presentation: terminal tables, the ``/api/models`` payload, exports, charts and notebook widgets.

Charts and widgets need the optional extras (matplotlib, ipywidgets) and load only when imported.
"""
