"""Grader for lesson 09_predict_and_serve: loading image files, top-k predictions, the web app."""

import pytest

from cnn_course import checks

pytestmark = pytest.mark.lesson("09_predict_and_serve")


@pytest.mark.exercise("load_image")
def test_load_image_prepares_files_as_in_training(lesson):
    checks.check_load_image(lesson.exercise("load_image"))


@pytest.mark.exercise("predict_top_k")
def test_predict_top_k(lesson):
    checks.check_predict_top_k(lesson.exercise("predict_top_k"))


@pytest.mark.exercise("create_app")
def test_create_app(lesson):
    checks.check_create_app(lesson.exercise("create_app"))


@pytest.mark.exercise("create_app")
def test_the_app_answers_as_predict_top_k_does(lesson):
    checks.check_app_matches_predict_top_k(lesson.exercise("create_app"), lesson.exercise("predict_top_k"))
