"""View models and render functions for every htmx page and fragment."""
