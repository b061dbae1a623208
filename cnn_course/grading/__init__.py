"""Grading lessons: load a lesson's exercise cells, and the pytest plugin that reports on them."""
