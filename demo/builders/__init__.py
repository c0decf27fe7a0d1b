"""Demo datasets built from real material on this machine (each writes a folder + manifest.csv)."""
