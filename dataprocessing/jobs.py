"""Scheduled jobs of data processing, by name (see portal/jobs.py)."""

JOBS: dict = {}
