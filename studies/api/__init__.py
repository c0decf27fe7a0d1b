"""REST API of the studies app: rater endpoints (study token in the URL) and staff endpoints."""
