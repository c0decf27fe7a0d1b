"""Reads of the gan app: querysets and tables built from rows, no writes (those are services/)."""
