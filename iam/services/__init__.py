"""Writes and workflows of the Sub Account part, one module per entity. The API, the admin and the tasks
all call these."""
