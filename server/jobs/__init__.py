"""Background work: the job functions and cron jobs (``functions``), the queue on Redis through arq
(``arq_queue``; ``worker`` is the worker process's composition root), the in-process runner of the embedded
default (``inprocess``), and retries and timing. A job's dependencies are one ``JobDeps`` (``deps``; built by
``context``). Jobs wire stores and adapters into the services and schedule them; every job is safe to run
twice, and no job imports the web layer."""
