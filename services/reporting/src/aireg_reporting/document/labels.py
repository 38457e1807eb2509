"""The words a person reads for the contract's value names (``regulation_and_barriers`` → "Regulation
and barriers"), shared by every rendering of the document and by the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime

LABELS: dict[str, str] = {
    # directions
    "regulation_and_barriers": "Regulation and barriers",
    "infrastructure_and_datacenters": "Infrastructure and data centres",
    "data": "Data",
    "model_training": "Model training",
    "information_security": "Information security",
    "adoption": "Adoption",
    "support_measures": "Support measures",
    # questions
    "definition_and_liability": "Definition of AI and liability",
    "permitted_areas": "Where AI is permitted or banned",
    "quality_and_certification": "Quality requirements and certification",
    "sovereign_and_foreign_models": "Sovereign and foreign models",
    "training_data": "Training data",
    "other": "Other",
    # positions
    "support": "Support",
    "oppose": "Oppose",
    "conditional": "Conditional",
    # statuses
    "submitted": "Submitted",
    "under_review": "Under review",
    "rejected_as_duplicate": "Rejected as duplicate",
    "assessed": "Assessed",
    "forwarded_to_government": "Forwarded to the government",
    "withdrawn": "Withdrawn",
    # outcomes and recommendations
    "recommended": "Recommended",
    "recommended_with_changes": "Recommended with changes",
    "not_recommended": "Not recommended",
    "merged": "Merged",
    "support_with_changes": "Support with changes",
    "reject": "Reject",
    "needs_clarification": "Needs clarification",
    # organizations
    "ministry": "Ministry",
    "analytical_center": "Analytical centre",
    # submitter kinds
    "government_body": "Government body",
    "business": "Business",
    "industry_association": "Industry association",
    "expert_community": "Expert community",
    "academia": "Academia",
    "non_profit": "Non-profit",
    "citizen": "Citizen",
    # approaches, costs, instruments
    "comprehensive": "Comprehensive",
    "targeted": "Targeted",
    "mixed": "Mixed",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "Critical",
    "federal_law": "Federal law",
    "government_decree": "Government decree",
    "technical_standard": "Technical standard",
    "certification": "Certification",
    "experimental_legal_regime": "Experimental legal regime",
    "self_regulation": "Self-regulation",
    "none": "None",
    # criteria
    "legal_soundness": "Legal soundness",
    "feasibility": "Feasibility",
    "risk_reduction": "Risk reduction",
    "innovation_impact": "Innovation impact",
}


def label(value: str | None) -> str:
    if value is None:
        return "—"
    return LABELS.get(value, value.replace("_", " ").capitalize())


def moment(value: datetime | None) -> str:
    """A timestamp as a person reads it in the document (the JSON keeps the canonical form)."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
