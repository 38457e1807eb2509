"""Sealed submitters for tests that build submission events themselves (analysis, reporting): the shape
the submission service records, with a fixed example ciphertext that no key opens."""

from __future__ import annotations

from typing import Any

EXAMPLE_SEALED = {
    "erased": False,
    "sealed": "aes256gcm:01900000-0000-7000-8000-000000000001:AAAAAAAAAAAAAAAA:" + "A" * 43,
}


def sealed_submitter(plain: dict[str, Any]) -> dict[str, Any]:
    """``plain`` (a submitter as a portal posts it) as the log holds it: the e-mail sealed, and a
    citizen's name and registration number."""
    sealed = {**plain, "contact_email": EXAMPLE_SEALED}
    if plain.get("kind") == "citizen":
        sealed["name"] = EXAMPLE_SEALED
        if plain.get("registration_number") is not None:
            sealed["registration_number"] = EXAMPLE_SEALED
    return sealed
