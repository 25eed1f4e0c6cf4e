"""Use cases; import server.domain only. Every service is safe to run twice."""
