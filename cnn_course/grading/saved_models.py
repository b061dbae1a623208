"""The models and histories the lessons save, as the graders read them: from the grader's copy of the folder,
trained first by running their lesson with --execute-lessons."""

from __future__ import annotations

from pathlib import Path

from cnn_course.checks.feedback import CheckFailed, ExerciseError
from cnn_course.grading.snapshot import FolderSnapshot


class SavedModels:
    """Where lessons save their models, read from the grader's copy of the folder; with --execute-lessons, runs
    the lesson that saves one first (in the folder itself), unless the saved file is newer than the lesson
    (as `make` would)."""

    def __init__(self, snapshot: FolderSnapshot, execute: bool) -> None:
        self.snapshot, self.folder, self.execute = snapshot, snapshot.folder, execute
        self._runs: dict[str, str | None] = {}

    def path(self, filename: str, saved_by: str) -> Path:
        """Return the copy of target/models/filename as it was before lesson code ran (or as lesson `saved_by`,
        executed first when asked to and stale, saved it); raise ExerciseError when that run fails."""
        if self.execute:
            if saved_by not in self._runs:
                stale = not self._is_fresh(self.folder / "models" / filename, saved_by)
                self._runs[saved_by] = self._run(saved_by) if stale else None
                if stale:
                    self.snapshot.take()  # what the lesson's own run saved is what is graded
            if self._runs[saved_by]:
                raise ExerciseError(saved_by, self._runs[saved_by])
        path = self.snapshot.path(f"models/{filename}")
        self._refuse_misplaced(path, filename, saved_by)
        return path

    def _refuse_misplaced(self, path: Path, filename: str, saved_by: str) -> None:
        """Fail lesson `saved_by`'s saved file, missing at `path`, when the course folder's models/ holds it instead."""
        from cnn_course.checks.saved_models import misplaced_save

        problem = None if path.exists() else misplaced_save(self.folder, filename)
        if problem:
            raise CheckFailed(saved_by, problem)

    def _is_fresh(self, path: Path, stem: str) -> bool:
        """True when `path` exists and was written after the last change to lesson `stem`."""
        from cnn_course.authoring.notebooks import NotebookError, newest_of_pair

        try:
            return path.is_file() and path.stat().st_mtime > newest_of_pair(self.folder, stem).stat().st_mtime
        except NotebookError:
            return False

    def _run(self, stem: str) -> str | None:
        from cnn_course.authoring.notebook_runner import NotebookRunError, execute_notebook
        from cnn_course.authoring.notebooks import NotebookError, newest_of_pair

        try:
            execute_notebook(newest_of_pair(self.folder, stem))
        except (NotebookError, NotebookRunError) as error:
            return f"running the lesson end to end failed, so its model could not be trained:\n{error}"
        return None
