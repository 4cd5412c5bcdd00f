"""Canvas's bracketed form encoding of nested parameters.

``{"module": {"name": "W", "prerequisite_module_ids": [1, 2]}}`` is sent as
``module[name]=W``, ``module[prerequisite_module_ids][]=1`` and
``module[prerequisite_module_ids][]=2``. Booleans are written ``true`` and
``false``, ``None`` as an empty value, and an empty list as the bare key with
an empty value, which Canvas reads as blank (for prerequisites: "clear them";
leaving the key out would mean "leave them unchanged").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["encode"]


def encode(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested ``params`` into Canvas's ``(name, value)`` form pairs.

    Keys keep their order. Raises :class:`TypeError` for a value that has no
    form encoding (anything but mappings, lists, tuples, text, numbers,
    booleans and ``None``).
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _add(pairs, str(key), value)
    return pairs


def _add(pairs: list[tuple[str, str]], name: str, value: Any) -> None:
    kind = type(value)
    if kind is str:
        # Most values are text: asked first, and without the abstract type
        # checks, which cost more than the rest of the encoding.
        pairs.append((name, value))
    elif kind is dict or isinstance(value, Mapping):
        for key, child in value.items():
            _add(pairs, f"{name}[{key}]", child)
    elif kind is list or (
        isinstance(value, Sequence) and not isinstance(value, str | bytes)
    ):
        if not value:
            pairs.append((name, ""))
        for child in value:
            _add(pairs, f"{name}[]", child)
    else:
        pairs.append((name, _scalar(name, value)))


def _scalar(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"parameter {name!r} has no form encoding: {type(value).__name__}")
