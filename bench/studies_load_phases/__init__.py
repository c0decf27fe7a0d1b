"""The in-process phases of bench/studies_load.py (CSV export, rater CPU per request, results poll),
one per module. A folder rather than bench/*.py files, so `make bench` does not run them on their own."""
