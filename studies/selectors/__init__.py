"""Reads of the studies app (no writes): what a rater sees, results, exports.

Writes live in studies.services; the rater API's GET endpoints call only these.
"""
