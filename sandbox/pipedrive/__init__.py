"""A local Pipedrive: OAuth, the REST API subset WaPipe uses (v1 and v2), rate limits and daily token
budgets, Person webhooks, merges, faults and a clock under ``/_sandbox``, and custom-UI host pages that
speak the App Extensions SDK's protocol."""
