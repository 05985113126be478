"""DQ assets for data stewards (filled by the DQ work)."""

DQ_ASSETS: list = []
