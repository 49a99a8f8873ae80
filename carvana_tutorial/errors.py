"""One exception type for every problem a user can fix: the command line prints a
:class:`CarvanaError` as one
sentence and exits non-zero; anything else is a bug and keeps its traceback."""


class CarvanaError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class DataError(CarvanaError):
    """The data folder is missing, incomplete, unpaired or unreadable."""


class DownloadError(CarvanaError):
    """Kaggle could not be reached, refused us, or the credentials are missing."""


class ModelError(CarvanaError):
    """A model file cannot be loaded or does not fit the data."""
