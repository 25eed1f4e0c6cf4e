"""View models and render functions for every page and htmx fragment (the templates are in ``templates/``).

Imports only ``server.domain``: a page knows what it shows, never where it came from.
"""
