"""plots.plot_image_grid: titles stay inside the figure and apart from each other, however long a line is."""

import matplotlib
import numpy as np
import pytest

from cnn_course import plots

matplotlib.use("Agg")


@pytest.mark.parametrize(
    "titles",
    [
        ["cat"] * 8,
        [f"IMG_2024010{i}\n(4032, 3024, 3)" for i in range(8)],
        [f"a photo from a phone named {i:02d}.HEIC\n(3024, 4032, 3)" for i in range(8)],
        [f"truck → automobile {i}" for i in range(8)],
        ["airplane\n→ automobile (97%)"] * 8,
        ["IMG_20240101_123456789.HEIC"] * 8,
    ],
)
def test_titles_stay_in_the_figure_and_apart(titles):
    images = np.random.default_rng(0).integers(0, 255, (len(titles), 32, 32, 3), dtype=np.uint8)
    figure = plots.plot_image_grid(images, titles=titles, ncols=len(titles))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [axis.title.get_window_extent(renderer) for axis in figure.axes]
    gaps = [right.x0 - left.x1 for left, right in zip(boxes, boxes[1:])]
    assert min(gaps) > 2, gaps
    assert max(box.y1 for box in boxes) <= figure.bbox.height and min(box.x0 for box in boxes) >= 0


def test_a_long_title_is_broken_at_spaces_and_keeps_every_word():
    title = "a photo from a phone named 07.HEIC\n(3024, 4032, 3)"
    figure = plots.plot_image_grid(np.zeros((1, 32, 32, 3), np.uint8), titles=[title], ncols=1)
    drawn = figure.axes[0].get_title()
    assert drawn.count("\n") > title.count("\n") and drawn.split() == title.split()


def test_titles_beside_a_long_word_wrap_to_the_widened_column():
    titles = ["IMG_20240101_123456789.HEIC", "one two three four five"]
    figure = plots.plot_image_grid(np.zeros((2, 32, 32, 3), np.uint8), titles=titles, ncols=2)
    assert [axis.get_title() for axis in figure.axes] == titles


def test_a_mathtext_title_is_left_whole():
    title = r"$\alpha + \beta + \gamma + \delta + \epsilon + \zeta$"
    figure = plots.plot_image_grid(np.zeros((1, 32, 32, 3), np.uint8), titles=iter([title]), ncols=1)
    assert figure.axes[0].get_title() == title
