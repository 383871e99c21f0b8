"""Exporters: one module per format, each turning results into something to read."""
