"""Publishing a partition in formats defined outside gridflow, for customers and third
parties: the Green Button (NAESB ESPI) Atom feed per service point (``green_button.py``,
its vocabulary in ``espi.py``). Plain functions over the warehouse; no Dagster asset."""
