"""The submission service: consultations, intake of proposals from external portals, amendments,
withdrawals, and the status each submitter sees."""
