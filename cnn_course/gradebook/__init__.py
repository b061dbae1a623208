"""The gradebook: results per submission and exercise, the roster, exports and reports.

Plain data and files only: nothing here starts, watches or ends a process, so it runs on every system.
"""
