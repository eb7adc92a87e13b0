"""Quickstart: a tiny Flower app switched to CKKS-encrypted aggregation."""
