"""Scheduled jobs of billing, by name (see portal/jobs.py)."""

JOBS: dict = {}
