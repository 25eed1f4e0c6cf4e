"""Starlette app factory, routes, middleware and error handlers."""
