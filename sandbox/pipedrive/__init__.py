"""A local Pipedrive: OAuth, REST API subset, rate limits, custom-UI host pages."""
