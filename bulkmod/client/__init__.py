"""The Canvas client: the edge of bulkmod that speaks HTTP to Canvas."""
