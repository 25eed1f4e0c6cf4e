"""The web process: the Starlette app factory (``app``, its composition root), the routes of every page and
webhook, the middleware (security headers, framing), and who is asking: the panel token inside Pipedrive's
iframes, the session of the chat view."""
