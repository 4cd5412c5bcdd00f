"""The error answers the sandbox's Canvas model gives.

Every refusal is one :class:`CanvasFailure` carrying the status and the JSON
body exactly as Canvas sends it; Canvas uses two body shapes for bad
requests (``{"message": ...}`` and a model errors hash) and one for missing
records.
"""

from __future__ import annotations

from typing import Any

NOT_FOUND_MESSAGE = "The specified resource does not exist."
UNAUTHORIZED_MESSAGE = "user not authorized to perform that action"


class CanvasFailure(Exception):
    """A Canvas error answer: ``status`` and the JSON ``body``.

    ``unauthorized()`` has status 401; the HTTP layer may answer 403 instead,
    as hosted Canvas does.
    """

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body

    def __repr__(self) -> str:
        return f"CanvasFailure({self.status}, {self.body!r})"

    @classmethod
    def not_found(cls) -> CanvasFailure:
        """A missing, foreign, deleted or hidden record."""
        return cls(404, {"errors": [{"message": NOT_FOUND_MESSAGE}]})

    @classmethod
    def bad_request(cls, message: str, status: int = 400) -> CanvasFailure:
        """A hand-written guard's refusal: ``{"message": ...}``."""
        return cls(status, {"message": message})

    @classmethod
    def model_error(cls, attribute: str, type_: str, message: str) -> CanvasFailure:
        """A validation failure rendered as Canvas's model errors hash."""
        error = {"attribute": attribute, "type": type_, "message": message}
        return cls(400, {"errors": {attribute: [error]}})

    @classmethod
    def unauthorized(cls) -> CanvasFailure:
        """An authenticated user who may not do this."""
        body = {"status": "unauthorized", "errors": [{"message": UNAUTHORIZED_MESSAGE}]}
        return cls(401, body)
