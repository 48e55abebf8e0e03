"""Writes and workflows of External Access, one module per entity. The API, the admin and the tasks all call these."""
