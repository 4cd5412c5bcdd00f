"""Job files: reading, checking and the meaning of each line."""
