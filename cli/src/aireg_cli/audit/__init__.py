"""The audit: replay the topics from offset 0, prove the logs whole, rebuild any decision's history."""
