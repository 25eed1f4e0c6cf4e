"""Pipedrive adapter: OAuth, API client, panel JWT check, rate budget."""
