"""Background work: the job functions and cron jobs (``functions``), the queue on Redis through arq
(``arq_queue``; ``worker`` is the worker process's composition root), the in-process runner of the embedded
default (``inprocess``), retries and timing, and the sync engine's Pipedrive adapter (``sync_crm``).
Every job is safe to run twice; no job imports the web layer."""
