"""Canvas course exports: reading them and turning them into jobs."""
