"""What an operator scrapes from every WaPipe process, in Prometheus's text format: the process's own
counts and timings (``families``: webhooks, Pipedrive requests, jobs, the sync's lag), the state every
process reads alike from the database and the queue at each scrape (``state``: the queue's depth, sessions,
the outbox), who may scrape (``access``), one scrape's text (``exposition``) and the workers' own small
HTTP listener (``listener``).

Nothing here reads the settings, a store or the queue: the composition roots hand in what is counted and
the readers of the state. Labels are bounded by the code: a transport, an outcome or reason it names, a
job's function name, an HTTP status, WaPipe's own company id; never a phone number, a name or anything a
person typed.
"""
