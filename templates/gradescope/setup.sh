#!/usr/bin/env bash
# Gradescope autograder setup for cnn-course: runs once, when Gradescope builds the autograder image.
# The autograder zip is your course folder (with tests/hidden) plus this file and run_autograder at
# its top level; Gradescope unpacks it into /autograder/source. Choose the Ubuntu 24.04 base image
# (Python 3.12).
set -euo pipefail
apt-get update
apt-get install -y python3-venv python3-pip bubblewrap  # bubblewrap: the learner sandbox, where the image allows it
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet -e /autograder/source
# The accuracy graders evaluate saved models on the official test split: download it into the image.
/autograder/venv/bin/python -c "from cnn_course import data; data.load_mnist()"
