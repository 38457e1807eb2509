"""The refusal every domain rule raises: a machine code that names the rule, and what kind of refusal it
is. Domains stay free of HTTP; ``aireg_http.errors`` turns the kind into a status in one place."""

from __future__ import annotations

from typing import Any, Literal

RefusalKind = Literal["conflict", "invalid", "forbidden", "not_found", "unavailable"]


class RuleViolation(Exception):
    """A command broke a rule; nothing was recorded."""

    code: str = "rule_violated"
    kind: RefusalKind = "conflict"

    def __init__(
        self, detail: str, *, code: str | None = None, kind: RefusalKind | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if kind is not None:
            self.kind = kind
        self.extra = extra
