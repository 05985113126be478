"""What a person runs: the ``gridflow`` command line (``cli`` and its ``commands_*``,
``steward``, ``publish``), its terminal output, and the runner that launches partition runs
through the definitions.

The top of the package: nothing else imports ``app``.
"""
