"""The sub account console: sign-in pages per account (/signin/<alias>/) and the console itself (/console/)."""
