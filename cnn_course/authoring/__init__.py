"""Course authoring: the masters and their Jupytext pairs, the learners' lessons generated from them, the course
configuration, the catalog of exercises, and the release a class receives."""
