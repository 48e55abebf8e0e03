"""External Access tests."""
