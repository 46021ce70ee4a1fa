"""The error type of the data loader and the helpers that build its messages."""

from __future__ import annotations

from collections.abc import Iterable

from iotlab.schema import GET_DATA_HINT

#: Most offending values or rows quoted in one message.
MAX_EXAMPLES = 5


class SchemaError(ValueError):
    """A file or frame that does not match the ACI-IoT-2023 flow schema.

    The message names the file or frame, the columns or values at fault and
    how to get the published file.
    """


def schema_error(source: str, problem: str) -> SchemaError:
    """Build a ``SchemaError`` for ``source`` that ends with how to get the data."""
    return SchemaError(f"{source}: {problem}\n{GET_DATA_HINT}")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """Format a count with its noun: ``1 row``, ``2 rows``, ``1,000 rows``."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def join_limited(items: Iterable[object], limit: int = 10) -> str:
    """Join items with commas, naming at most ``limit`` and counting the rest."""
    items = [str(item) for item in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
