"""An instructor's batch: one grading run per submission, each in its own limited, sandboxed processes.

`grade` plans and supervises the runs, `forkserver` and `worker` are the processes a run starts, `collect` turns
one run's pytest outcomes into signed records, and `submissions` finds and unpacks what the learners handed in.
Linux only: the processes rely on fork, process groups and bubblewrap.
"""
