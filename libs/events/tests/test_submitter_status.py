"""The submitter's status: one rule, shown by the submission service and counted by reporting."""

from __future__ import annotations

import pytest

from aireg_events.submitter_status import SubmitterStatus, submitter_status


@pytest.mark.parametrize(
    ("facts", "status"),
    [
        ({}, "submitted"),
        ({"in_review": True}, "under_review"),
        ({"in_review": True, "assessed": True}, "assessed"),
        ({"in_review": True, "assessed": True, "merged": True}, "rejected_as_duplicate"),
        ({"assessed": False, "merged": True, "in_review": True}, "under_review"),
        ({"assessed": True, "forwarded": True}, "forwarded_to_government"),
        ({"assessed": True, "merged": True, "forwarded": True, "withdrawn": True}, "withdrawn"),
        ({"withdrawn": True}, "withdrawn"),
        ({"misattributed": True, "withdrawn": True, "forwarded": True, "assessed": True}, "misattributed"),
    ],
)
def test_the_status_a_submitter_sees_follows_the_facts_in_order_of_precedence(
    facts: dict[str, bool], status: SubmitterStatus
) -> None:
    given = dict.fromkeys(
        ("misattributed", "withdrawn", "forwarded", "assessed", "merged", "in_review"), False
    )
    assert submitter_status(**{**given, **facts}) == status
