#!/usr/bin/env bash
# Kill a batch half-way and --resume it: the gradebook must equal an uninterrupted run's.
#   benchmarks/hostile_kill_resume.sh DIR    (DIR from `python benchmarks/hostile_batch.py build DIR`,
#                                             already graded once into DIR/grades)
# Grades DIR/submissions into DIR/killed, kill -9s the command once 5 submissions have a record,
# reports what is left of it (processes, scratch folder), resumes, and compares the gradebooks.
set -u
dir=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$dir"
rm -rf killed
setsid python -m cnn_course.commands.cli grade submissions/* --config course.toml --course "$repo" --out killed --jobs 2 --html > killed1.log 2>&1 &
batch=$!
until [ "$(ls killed/records 2>/dev/null | wc -l)" -ge 5 ]; do sleep 1; done
sleep 5
echo "records before the kill: $(ls killed/records | wc -l)"
kill -9 "$batch"
sleep 20
echo "left after the kill: $(pgrep -f "forkserver $batch" | wc -l) grading processes, $(pgrep -f "cnn-course-grading/$batch-" | wc -l) processes in its scratch folder"
python -m cnn_course.commands.cli grade submissions/* --config course.toml --course "$repo" --out killed --jobs 2 --html --resume > killed2.log 2>&1
echo "resume exit code $?; scratch folders of the killed batch left: $(ls -d "${TMPDIR:-/tmp}/cnn-course-grading/$batch-"* 2>/dev/null | wc -l)"
cmp killed/gradebook.csv grades/gradebook.csv && echo "the gradebook after kill -9 and --resume is byte-identical to the uninterrupted run's"
