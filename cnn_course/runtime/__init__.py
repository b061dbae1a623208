"""The learner runtime: everything that runs inside the learner process, and what it speaks.

- `learner`: answers the grading process's requests (run a cell, call an exercise, send an HTTP
  request to an app the lesson returned) in a lesson's namespace;
- `zygote` (Linux): the fork backend, one interpreter that imports the libraries once and forks a
  learner process per lesson;
- `spawned` (every system): the portable backend, one spawned interpreter per grading session
  that runs each lesson in a fresh namespace, talking over its standard streams;
- `protocol`: the data that crosses (JSON, `.npy`, safe-mode `.keras`), never code;
- `calls`, `limits`: observing an exercise call, and time limits that work on every system;
- `processes`, `sandbox`, `fs`: process helpers, the bubblewrap sandbox (Linux), scratch folders;
- `backends`: which backend runs here, and why.

Nothing here imports the checks, the grading process or the batch: the learner process never holds
a grader's code or paths.
"""
