"""HTTP: the bounded JSON fetch, its deadline, and the requests-cache backend with its sessions.

The bottom of the package's layers: nothing here imports from the catalog, pricing, trials or presentation.
"""
