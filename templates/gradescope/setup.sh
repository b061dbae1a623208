#!/usr/bin/env bash
# Gradescope autograder setup for cnn-course, written by `cnn-course assign --gradescope`. Gradescope runs it
# once, as root, when it builds the autograder image (choose the Ubuntu 24.04 base image), with this zip
# unpacked in /autograder/source. It installs the course in /autograder/venv and checks the datasets the
# graders evaluate saved models on: the official files in /autograder/source/data when the zip has them
# (grading then needs no network), else a download through keras.datasets into the image, now.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap: the learner sandbox, used where the container lets it create namespaces (run_autograder's output says).
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip bubblewrap >/dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet -e /autograder/source
if [ -d /autograder/source/data ]; then export CNN_COURSE_DATA=/autograder/source/data; fi
/autograder/venv/bin/python -c "from cnn_course import data; data.load_mnist(); data.load_cifar10()"
/autograder/venv/bin/cnn-course doctor
