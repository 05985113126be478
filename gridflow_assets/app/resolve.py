"""What the ``gridflow`` commands' arguments name, reached and checked once before a command
does its work: the warehouse (a location that cannot be used raises ``BadLocation``: exit
2), the Dagster instance bound to it, utility ids, and instants (``--as-of``) read from
and written back to the command line. Imports nothing heavy at module level, so the light
commands stay light."""

from __future__ import annotations

import difflib
import os
import sys
from datetime import UTC, datetime

from gridflow_assets.store.settings import HOME_ENV, default_path


class BadLocation(ValueError):
    """A --warehouse / GRIDFLOW_WAREHOUSE that cannot be used (exit 2)."""


def unknown_utility(command: str, utility: str | None, known: list[str], what: str) -> bool:
    """Whether ``utility`` is given and not one of ``known``; if so, says so on stderr in
    one line with the known ids (and the closest, when one is close): exit 2 follows."""
    if utility is None or utility in known:
        return False
    close = difflib.get_close_matches(utility, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    print(
        f"gridflow {command}: unknown utility {utility!r}: {what} "
        f"(known: {', '.join(known) or 'none yet'}){hint}",
        file=sys.stderr,
    )
    return True


def known_utilities() -> list[str]:
    from gridflow_assets.silver.adapters import all_utilities

    return sorted(u.utility_id for u in all_utilities())


def unregistered(command: str, utility: str | None) -> bool:
    """``unknown_utility`` against the utilities with an adapter."""
    return unknown_utility(command, utility, known_utilities(), "no adapter is registered for it")


def instant(text: str) -> datetime:
    """An ISO 8601 instant from the command line (``2026-12-07T10:00:00Z``,
    ``2026-12-07 10:00``, a date alone for its midnight), UTC unless it names an offset.
    Raises ValueError."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--as-of {text!r} is not an ISO 8601 date or time (e.g. 2026-12-07T10:00:00Z, "
            "'2026-12-07 10:00', 2026-12-07)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def utc_text(when: datetime, timespec: str = "seconds") -> str:
    return when.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def location_of(args):
    """The warehouse as a ``storage.Location``, reached once, without importing the
    warehouse module (and with it Dagster): for the light commands."""
    from gridflow_assets.store.storage import StorageError, open_location

    try:
        loc = open_location(args.warehouse or default_path("warehouse"))
        loc.check()
    except StorageError as exc:
        raise BadLocation(str(exc)) from None
    return loc


def refuse_unconverted(loc, keys: list[str] | None = None) -> None:
    """``BadLocation`` (exit 2, one line naming ``gridflow migrate``) for a warehouse still
    in the old pointer layout."""
    from gridflow_assets.store.migrate import refusal, unconverted

    found = unconverted(loc, keys)
    if found:
        raise BadLocation(f"{loc.url}: {refusal(found)}")


def warehouse_of(args, secret: bool = False, converted: bool = True) -> str:
    """The warehouse folder or URL, reached once (bucket, credentials, endpoint): a location
    that cannot be used raises ``BadLocation`` before anything runs. ``secret``: also the
    PII key a run needs (a URL warehouse takes it from the environment only).
    ``converted``: a warehouse still in the old pointer layout is refused too."""
    from gridflow_assets.store.pii import SecretMissing, check_secret
    from gridflow_assets.store.storage import StorageError
    from gridflow_assets.store.warehouse import Warehouse

    try:
        store = Warehouse(args.warehouse or default_path("warehouse")).check()
        if converted:
            refuse_unconverted(store.loc)
        location = store.location
        if secret:
            check_secret(location)
    except (StorageError, SecretMissing) as exc:
        raise BadLocation(str(exc)) from None
    return location


def bind(warehouse: str, record: bool) -> None:
    """Point ``DAGSTER_HOME`` at the instance bound to ``warehouse`` (``record``: bind an
    unbound one), so this process and its workers open the same instance. Raises
    ``BindingError`` when the instance records another warehouse."""
    from gridflow_assets.defs.instance import open_home

    os.environ[HOME_ENV] = str(open_home(warehouse, record=record))
