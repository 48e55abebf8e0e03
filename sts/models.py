"""Models arrive with their issues; the app exists so its migrations and URLs have a home."""
