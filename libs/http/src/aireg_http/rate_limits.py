"""Rate limits: each verified token (its ``jti``) has its own budget of requests per minute, and requests
without a verified token share one budget per client address. Over budget: 429 ``rate_limited`` with
``Retry-After``.

Only a token whose signature, issuer, expiry and revocation were checked gets a budget of its own, so
nobody can spend another token's budget by sending a forged token that carries its id: a token that does
not verify counts against the sender's address, like no token at all. ``/health`` and ``/metrics`` are
not limited (probes and scrapers call them all the time).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from aireg_http.auth import TokenVerifier, bearer_token, verify_once
from aireg_http.errors import ApiError

UNLIMITED_PATHS = frozenset({"/health", "/metrics"})
MAX_TRACKED_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per key: ``per_minute`` requests a minute sustained, bursts of up to
    ``per_minute``. Remembers at most ``max_keys`` keys (the least recently seen are forgotten)."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = MAX_TRACKED_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one request of ``key``'s budget: 0.0 if allowed, else the seconds until one is free."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


class RateLimit:
    """Pure ASGI middleware: the budgets above, checked before anything else reads the request."""

    def __init__(self, app: ASGIApp, *, per_token_per_minute: int, per_address_per_minute: int) -> None:
        self.app = app
        self.tokens = TokenBuckets(per_token_per_minute) if per_token_per_minute > 0 else None
        self.addresses = TokenBuckets(per_address_per_minute) if per_address_per_minute > 0 else None

    def _key(self, scope: Scope) -> tuple[TokenBuckets | None, str]:
        authorization = ""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        token = bearer_token(authorization)
        verifier: TokenVerifier | None = getattr(
            getattr(scope.get("app"), "state", None), "token_verifier", None
        )
        if token is not None and verifier is not None:
            try:
                principal = verify_once(scope.setdefault("state", {}), verifier, token)
            except ApiError:
                pass  # not a token we issued (or no longer valid): it has no budget of its own
            else:
                return self.tokens, f"token:{principal.token_id}"
        client = scope.get("client")
        return self.addresses, f"address:{client[0] if client else 'unknown'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        buckets, key = self._key(scope)
        wait = buckets.take(key) if buckets is not None else 0.0
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        body = orjson.dumps(
            {
                "error": "rate_limited",
                "detail": f"too many requests; retry after {retry_after} s",
                "retry_after": retry_after,
            }
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
