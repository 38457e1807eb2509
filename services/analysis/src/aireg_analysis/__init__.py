"""The analysis service: triage, mass-campaign detection, assignment, dual review, assessment, and
packages of recommendations for the government."""
