"""Running a create: content by title, the id floor, existing names, publishing.

A ``module.create`` or ``item.create`` with its ids resolved goes through
here: a content title becomes the item's ``content_id`` or ``page_url``; the
course is surveyed once (its id floors for :mod:`bulkmod.engine.recovery`,
its modules for :mod:`bulkmod.engine.existing`); the create is sent, or found
after a lost answer, or (for a module whose name is already there, or an item
its module already had) handled as ``--existing`` says; and ``published``,
which Canvas ignores on create, is set right after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from bulkmod.client.errors import ConflictError
from bulkmod.client.http import CanvasClient
from bulkmod.client.urls import api_path
from bulkmod.engine import existing, recovery
from bulkmod.engine.journal import Previous
from bulkmod.engine.operations import Done, Sender, Target
from bulkmod.engine.resolve import CourseContext, Resolver

log = structlog.get_logger("bulkmod.run")


class Skipped(Exception):
    """An operation the run chose not to send: recorded ``skipped``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class Creator:
    """Carry out ``module.create`` and ``item.create``."""

    def __init__(
        self,
        client: CanvasClient,
        sender: Sender,
        resolver: Resolver,
        previous: Previous,
        *,
        existing_policy: str = "warn",
    ) -> None:
        if existing_policy not in existing.EXISTING:
            raise ValueError(f"existing_policy must be one of {existing.EXISTING}")
        self._client = client
        self._sender = sender
        self._resolver = resolver
        self._previous = previous
        self._policy = existing_policy

    async def create(self, target: Target, ctx: CourseContext) -> Done:
        """Create the object of ``target`` (or take the one already there)."""
        # The target's params are the run's own copy of the line's: kept as
        # asked, beside the copy that is sent.
        asked = target.params
        params = dict(asked)
        published = params.pop("published", None)
        content = params.pop("content", None)
        if isinstance(content, dict) and "title" in content:
            key, value = await self._resolver.content(
                ctx,
                target.course_id,
                str(params.get("type")),
                str(content["title"]),
                target.stats,
                target.op.as_user,
            )
            params[key] = value
        target.params = params

        pending = self._previous.pending.get(target.op_id)
        kind = target.op.spec.kind
        needs_names = self._policy != "duplicate"
        if (
            ctx.module_floor is None
            or ctx.item_floor is None
            or (needs_names and ctx.modules_before is None)
        ):
            await self._survey(ctx, target)
        if pending is not None and pending.get("floor") is not None:
            floor = int(pending["floor"])
        else:
            floor = (ctx.module_floor if kind == "module" else ctx.item_floor) or 0

        there: list[dict[str, Any]] = []
        if needs_names and ctx.modules_before is not None:
            if kind == "module":
                there = existing.same_name(
                    ctx.modules_before, params.get("name"), floor
                )
            else:
                there = await self._items_there(target, ctx, floor)
        if there and self._policy != "warn":
            if kind == "item":
                return self._settle_item(target, ctx, there, asked)
            return self._settle_existing(target, ctx, there, asked)

        done = await self._sender.create(
            target, floor, self._finder(target, floor), look_first=pending is not None
        )
        claims = self._previous.claimed.get((target.course_id, kind))
        if claims is not None and done.object_id is not None:
            claims.add(done.object_id)
        if kind == "module":
            ctx.module_floor = max(ctx.module_floor or 0, done.object_id or 0)
        else:
            ctx.item_floor = max(ctx.item_floor or 0, done.object_id or 0)
        if "position" in params:
            # Undo moves the object to the end before deleting it, so that
            # the siblings this insert shifted move back.
            done.extra["inserted_at"] = params["position"]
        if there:
            done.extra["existing"] = [int(found["id"]) for found in there]
            log.warning(
                f"{kind} exists",
                op_id=target.op_id,
                course=target.course_id,
                name=params.get("name", params.get("title")),
                existing=done.extra["existing"],
                created=done.object_id,
            )
        if published is not None and bool(done.result.get("published")) != published:
            await self._publish_created(target, done, bool(published))
        return done

    def _settle_existing(
        self,
        target: Target,
        ctx: CourseContext,
        there: list[dict[str, Any]],
        asked: dict[str, Any],
    ) -> Done:
        """``--existing skip`` or ``adopt`` for a module name already there."""
        names = existing.describe(there)
        if self._policy == "skip":
            raise Skipped(
                "conflict",
                f"course {target.course_id} already has module {names}; "
                "--existing skip left it as it is and created none",
            )
        if len(there) > 1:
            raise ConflictError(
                f"course {target.course_id} already has {len(there)} modules of "
                f"that name ({names}); --existing adopt cannot tell which to "
                "take: name one by id in the lines that need it"
            )
        module = {
            key: value
            for key, value in there[0].items()
            if key not in ("items", existing.ADOPTED)
        }
        there[0][existing.ADOPTED] = True
        return _adopted(target, "module", module, asked)

    async def _items_there(
        self, target: Target, ctx: CourseContext, floor: int
    ) -> list[dict[str, Any]]:
        """Items like the one to create, in a module the course had before."""
        assert ctx.modules_before is not None
        module = ctx.modules_before.get(target.module_id or 0)
        if module is None:
            return []
        items = await existing.items_before(
            self._client, target.course_id, module, target.stats, target.op.as_user
        )
        return existing.same_items(items, target.params, floor)

    def _settle_item(
        self,
        target: Target,
        ctx: CourseContext,
        there: list[dict[str, Any]],
        asked: dict[str, Any],
    ) -> Done:
        """``--existing skip`` or ``adopt`` for an item already in its module."""
        if self._policy == "skip":
            raise Skipped(
                "conflict",
                f"module {target.module_id} of course {target.course_id} already "
                f"has item {existing.describe(there[:1])}; --existing skip left it "
                "as it is and created none",
            )
        assert ctx.modules_before is not None and target.module_id is not None
        item = there[0]
        existing.take(ctx.modules_before[target.module_id]["items"], item)
        wanted = {key: value for key, value in asked.items() if key != "content"}
        wanted.update(target.params)
        return _adopted(target, "item", dict(item), wanted)

    async def _survey(self, ctx: CourseContext, target: Target) -> None:
        found = await recovery.survey(
            self._client, target.course_id, target.stats, target.op.as_user
        )
        if ctx.module_floor is None or ctx.item_floor is None:
            ctx.module_floor, ctx.item_floor = found.module_floor, found.item_floor
        else:
            ctx.module_floor = max(ctx.module_floor, found.module_floor)
            ctx.item_floor = max(ctx.item_floor, found.item_floor)
        if ctx.modules_before is None:
            ctx.modules_before = found.modules

    def _finder(
        self, target: Target, floor: int
    ) -> Callable[[], Awaitable[dict[str, Any] | None]]:
        async def find() -> dict[str, Any] | None:
            kind = target.op.spec.kind
            claimed = self._previous.claimed.get((target.course_id, kind), ())
            if target.op.op == "module.create":
                return await recovery.find_module(
                    self._client,
                    target.course_id,
                    target.params,
                    floor,
                    target.stats,
                    target.op.as_user,
                    claimed,
                )
            assert target.module_id is not None
            return await recovery.find_item(
                self._client,
                target.course_id,
                target.module_id,
                target.params,
                floor,
                target.stats,
                target.op.as_user,
                claimed,
            )

        return find

    async def _publish_created(
        self, target: Target, done: Done, published: bool
    ) -> None:
        """Canvas ignores ``published`` on create: set it right after."""
        spec = target.op.spec
        assert spec.wrapper is not None and done.object_id is not None
        if target.op.op == "module.create":
            path = api_path(
                "/courses/{course}/modules/{module}",
                course=target.course_id,
                module=done.object_id,
            )
        else:
            assert target.module_id is not None
            path = api_path(
                "/courses/{course}/modules/{module}/items/{item}",
                course=target.course_id,
                module=target.module_id,
                item=done.object_id,
            )
        answer = await self._client.request(
            "PUT",
            path,
            form={spec.wrapper: {"published": published}},
            as_user=target.op.as_user,
            stats=target.stats,
        )
        done.result = answer
        done.extra["steps"] = ["create", "publish" if published else "unpublish"]


def _adopted(
    target: Target, kind: str, found: dict[str, Any], asked: dict[str, Any]
) -> Done:
    """Take a module or item the course already had, naming what differs."""
    differs = existing.differences(asked, found)
    # One line per adopted object would drown the log of a term start run on
    # built shells: only those that differ from the job are news.
    (log.info if differs else log.debug)(
        f"{kind} adopted",
        op_id=target.op_id,
        course=target.course_id,
        **{kind: found["id"]},
        differs=sorted(differs),
    )
    return Done(
        found,
        int(found["id"]),
        extra={"adopted_existing": True, "differs": differs},
    )
