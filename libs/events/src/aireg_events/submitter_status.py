"""The status a submitter sees (docs/contract.md), as one function of the facts the events establish: the
submission service shows it, reporting counts it.

- ``misattributed`` once an attribution dispute about it was upheld (filed in someone's name without
  their consent), whatever else happened: it is set aside, and stays in the log;
- ``withdrawn`` once the submitter withdrew it, whatever happened after;
- ``forwarded_to_government`` once analysis forwarded it;
- with a current assessment (assessed, and not amended since: an amendment asks for a new one):
  ``rejected_as_duplicate`` when the lead merged it into another proposal, else ``assessed``. Triage
  only flags exact duplicates (``exact_duplicate_of``); the lead's assessment decides, so a flag alone
  rejects nothing;
- ``under_review`` once triage, a reviewer's assignment or a review reached it;
- ``submitted`` before that.
"""

from __future__ import annotations

from typing import Literal

SubmitterStatus = Literal[
    "submitted",
    "under_review",
    "assessed",
    "forwarded_to_government",
    "rejected_as_duplicate",
    "withdrawn",
    "misattributed",
]


def submitter_status(
    *, misattributed: bool, withdrawn: bool, forwarded: bool, assessed: bool, merged: bool, in_review: bool
) -> SubmitterStatus:
    """``assessed``: it has a current assessment; ``merged``: that assessment's outcome is ``merged``."""
    if misattributed:
        return "misattributed"
    if withdrawn:
        return "withdrawn"
    if forwarded:
        return "forwarded_to_government"
    if assessed:
        return "rejected_as_duplicate" if merged else "assessed"
    if in_review:
        return "under_review"
    return "submitted"
