"""Job queue implementations (arq, in-process) and the job functions."""
