"""The one error of the ingest stages: a page that cannot be read or parsed."""
from __future__ import annotations

from pathlib import Path

from ontology.errors import BadInput


class IngestError(BadInput):
    """A file that could not be ingested; `str()` is one line: ``path: reason``.

    >>> error = IngestError("corpus/x.txt", "file is empty")
    >>> str(error), error.errors
    ('corpus/x.txt: file is empty', ['corpus/x.txt: file is empty'])
    """

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        # One line always: the message goes into summaries and logs line by line.
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self):  # rebuilt from its two parts when pickled
        return type(self), (self.path, self.reason)
