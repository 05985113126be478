"""The warehouse and its table format: Delta Lake tables on local disk or object storage
(``storage``, ``delta``, ``writers``, ``warehouse``), the landing folders drops arrive in
(``landing``), frames conformed to the registry (``frames``), pseudonymisation keys
(``pii``), folders and settings from the environment (``settings``), and the Dagster
resources that hand the warehouse to assets (``resources``).

Below every layer's logic; it imports only the registry and the domain.
"""
