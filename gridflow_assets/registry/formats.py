"""Format variants of a delivered file: the shapes one file may arrive in, as data.

A utility's file (``landing.SourceFile``) declares its columns once, in the order bronze
stores them, and may declare several variants of how it is delivered: which columns a
variant must carry, which it may carry, and which it lacks and the platform derives (each
derivation names the rules that may set a value, published in the data dictionary). The
header of a delivered file picks the first variant it fits; a header that fits none is a
bad drop. Bronze keeps every delivered value as it is and leaves a column the variant does
not deliver null; silver derives it, keeps the null as the original and flags the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD = "standard"


@dataclass(frozen=True)
class Derivation:
    """A column a variant lacks and the rules that may set it, each ``(name, meaning)``
    (tried in order; the meanings are published in the data dictionary)."""

    column: str
    rules: tuple[tuple[str, str], ...]

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.rules)


@dataclass(frozen=True)
class FormatVariant:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    derived: tuple[Derivation, ...] = ()
    description: str = ""

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.required + self.optional

    def problems(self, header: list[str]) -> list[tuple[str, str]]:
        """(column, what is wrong) for every way ``header`` does not fit this variant:
        required columns missing first, then columns the variant does not know."""
        missing = [(c, "missing") for c in self.required if c not in header]
        extra = [(c, "unexpected") for c in header if c not in self.allowed]
        return missing + extra


class NoVariant(ValueError):
    """A header fits none of a file's variants: the closest one's first problem."""

    def __init__(self, column: str, problem: str, message: str):
        self.column, self.problem = column, problem
        super().__init__(message)


def match_variant(
    header: list[str], variants: tuple[FormatVariant, ...], owner: str
) -> FormatVariant:
    """The first variant ``header`` fits; ``NoVariant`` naming the column otherwise.

    With one variant the message is the ``owner``'s (utility's) format's; with several it
    names the variant the header came closest to (fewest problems, first declared on ties).
    """
    for variant in variants:
        if not variant.problems(header):
            return variant
    closest = min(variants, key=lambda v: len(v.problems(header)))
    column, problem = closest.problems(header)[0]
    which = ""
    if len(variants) > 1:
        names = ", ".join(v.name for v in variants)
        which = f" (fits no format variant of {names}; closest: {closest.name})"
    if problem == "missing":
        message = f"required column missing{which} (header has {header})"
    else:
        message = f"unexpected column not in the {owner} format{which}"
    raise NoVariant(column, problem, message)


def derivations(variants: tuple[FormatVariant, ...]) -> dict[str, Derivation]:
    """Every column some variant derives, by column (one declaration per column)."""
    out: dict[str, Derivation] = {}
    for variant in variants:
        for d in variant.derived:
            if out.setdefault(d.column, d) != d:
                raise ValueError(f"column {d.column}: two different derivations declared")
    return out
