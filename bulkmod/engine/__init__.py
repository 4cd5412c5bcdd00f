"""The engine: runs a job's operations in course lanes and records results."""
