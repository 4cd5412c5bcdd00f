"""Course shells that are not empty: a module of the same name already there.

Canvas allows two modules of one name, so a term-start job run on a shell
that already holds "Week 1" would silently build a second one. Before its
first create in a course, the engine lists the course's modules (for the id
floor of :mod:`bulkmod.engine.recovery`); the same listing tells which names
the course had before this run. ``--existing`` says what a ``module.create``
of such a name does:

- ``warn`` (default): create it all the same; the result names the modules
  that were there (``"existing": [ids]``) and a warning is logged;
- ``adopt``: take the module that is there instead (``"adopted_existing":
  true``; its id feeds references); params that differ from it are named in
  the result (``"differs"``), not changed;
- ``skip``: record the operation ``skipped`` (``conflict``), so that the lines
  that depend on it are skipped too;
- ``duplicate``: create it, saying nothing.

Modules this run deletes or renames are kept track of, so a name is judged
against the course as it stands when the create runs.
"""

from __future__ import annotations

from typing import Any

#: The choices of ``--existing``.
EXISTING = ("warn", "adopt", "skip", "duplicate")


def same_name(
    modules: dict[int, dict[str, Any]], name: Any, floor: int
) -> list[dict[str, Any]]:
    """Modules of ``name`` that were there before this run, oldest first.

    Only ids at or below ``floor`` count: a module above it was made by this
    very create, on an earlier attempt whose answer was lost.
    """
    found = [
        module
        for module_id, module in modules.items()
        if module_id <= floor and module.get("name") == name
    ]
    return sorted(found, key=lambda module: int(module["id"]))


def differences(params: dict[str, Any], module: dict[str, Any]) -> dict[str, Any]:
    """The params of a create that the existing module does not have.

    Answer ``{param: {"job": wanted, "canvas": found}}``.
    """
    differs: dict[str, Any] = {}
    for key, wanted in params.items():
        found = module.get(key)
        if key == "prerequisite_module_ids":
            same = sorted(map(str, wanted or [])) == sorted(map(str, found or []))
        elif isinstance(wanted, bool) or isinstance(found, bool):
            same = bool(wanted) == bool(found)
        else:
            same = wanted == found or str(wanted) == str(found)
        if not same:
            differs[key] = {"job": wanted, "canvas": found}
    return differs


def describe(modules: list[dict[str, Any]]) -> str:
    """Name modules for a message: ``'Week 1' (id 12)``."""
    return ", ".join(
        f"{module.get('name')!r} (id {module['id']})" for module in modules
    )


def note_change(
    modules: dict[int, dict[str, Any]],
    op: str,
    module_id: int | None,
    params: dict[str, Any],
) -> None:
    """Keep the known modules true after a delete or a rename of this run."""
    if module_id is None or module_id not in modules:
        return
    if op == "module.delete":
        del modules[module_id]
    elif op == "module.update" and "name" in params:
        modules[module_id] = {**modules[module_id], "name": params["name"]}
