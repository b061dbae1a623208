"""The one exception the data loaders raise."""


class DataError(Exception):
    """A dataset is missing, damaged or misplaced; the message is one paragraph saying what to do."""
