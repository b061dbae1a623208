"""Checks for the arithmetic exercises: convolution output sizes and parameter counts.

The sizes, kernels, strides and channels are drawn for each run (`draws.generator`), and the
expected answers computed from them, so that a hint can name the formula a wrong answer follows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnn_course.checks.arrays import expect_integer
from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed


def keras_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Return the output length of a convolution or pooling window along one axis, as Keras computes it."""
    return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1


def _size(rng: np.random.Generator, low: int, keep: Callable[[int], bool]) -> int:
    """Draw an input size from low to 63 that `keep` accepts."""
    return int(rng.choice([size for size in range(low, 64) if keep(size)]))


def _conv_output_cases(rng: np.random.Generator) -> list[tuple[int, int, int, str]]:
    """Draw (input_size, kernel_size, stride, padding) cases that tell the right formula from its look-alikes.

    'valid': stride 1, and strides that leave a remainder or none (a missing + 1 and an ignored stride
    show). 'same': an odd and an even kernel at stride 1 (the padded formula with kernel_size // 2 is off
    by one for an even kernel), an odd size at stride 2 (floor division), a size just past a multiple of
    3 or 4 (round()), and an even size with a 2x2 window at stride 2.
    """
    kernel, big_stride = int(rng.choice((3, 5, 7))), int(rng.choice((3, 4)))
    cases = [
        (_size(rng, kernel + 2, bool), kernel, 1, "valid"),
        (_size(rng, 6, lambda n: (n - 3) % 2 == 1), 3, 2, "valid"),
        (_size(rng, 8, lambda n: (n - 4) % 3 != 0), 4, 3, "valid"),
        (_size(rng, 6, lambda n: (n - 2) % 2 == 0), 2, 2, "valid"),
        (_size(rng, 5, bool), int(rng.choice((3, 5))), 1, "same"),
        (_size(rng, 5, bool), 2, 1, "same"),
        (_size(rng, 5, lambda n: n % 2 == 1), 3, 2, "same"),
        (_size(rng, 5, lambda n: 0 < n % big_stride < big_stride / 2), int(rng.choice((2, 3))), big_stride, "same"),
        (_size(rng, 6, lambda n: n % 2 == 0), 2, 2, "same"),
    ]
    # 'valid' first: a formula that ignores the padding then gets the hint about the formula itself.
    return [cases[i] for i in (*rng.permutation(4), *(4 + rng.permutation(len(cases) - 4)))]


def _param_cases(rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Draw (kernel_size, in_channels, filters) cases where each wrong formula the hints name gives another count."""
    cases = [(int(rng.choice((3, 5))), 1, int(rng.integers(4, 65)))]
    # More input channels than the kernel is wide: (kernel_size * in_channels + 1) * filters then differs from every
    # other slip.
    cases += [(int(rng.choice((2, 3, 5, 7))), int(rng.integers(8, 129)), int(rng.integers(2, 129))) for _ in range(3)]
    cases.append((1, int(rng.integers(2, 129)), int(rng.integers(2, 33))))
    return [cases[i] for i in rng.permutation(len(cases))]


def check_conv_output_size(conv_output_size: Callable) -> None:
    """conv_output_size(input_size, kernel_size, stride, padding) matches Keras for drawn cases, as an int."""
    name = "conv_output_size"
    for size, kernel, stride, padding in _conv_output_cases(generator(name)):
        expected = keras_output_size(size, kernel, stride, padding)
        call = f"conv_output_size({size}, {kernel}, stride={stride}, padding='{padding}')"
        found = expect_integer(
            name,
            conv_output_size(size, kernel, stride=stride, padding=padding),
            call,
            "a size is a whole number: use floor division // and math.ceil (which return ints), "
            "or wrap the result in int(...).",
        )
        if found != expected:
            if padding == "valid":
                hint = (
                    "with padding='valid' the window must fit inside the image: "
                    "(input_size - kernel_size) // stride + 1."
                )
                if found == (size - kernel) // stride:
                    hint = "count the first window too: (input_size - kernel_size) // stride + 1 (the + 1 is missing)."
                elif found == size - kernel + 1:
                    hint = (
                        "the stride is ignored: the window moves `stride` pixels at a time, "
                        "(input_size - kernel_size) // stride + 1."
                    )
            else:
                hint = (
                    "with padding='same' only the stride shrinks the image: ceil(input_size / stride), "
                    "whatever the kernel size."
                )
            raise CheckFailed(name, f"{call} returned {found!r}; expected {expected}.", hint)


def check_conv2d_param_count(conv2d_param_count: Callable) -> None:
    """conv2d_param_count(kernel_size, in_channels, filters) counts weights and biases for drawn cases, as an int."""
    name = "conv2d_param_count"
    for kernel, channels, filters in _param_cases(generator(name)):
        expected = (kernel * kernel * channels + 1) * filters
        call = f"conv2d_param_count({kernel}, {channels}, {filters})"
        found = expect_integer(
            name,
            conv2d_param_count(kernel, channels, filters),
            call,
            "a parameter count is a whole number: compute with ints (** and *, not math.pow) or wrap it in int(...).",
        )
        if found != expected:
            hint = "each filter has kernel_size * kernel_size * in_channels weights plus 1 bias."
            if found == kernel * kernel * channels * filters:
                hint = "you counted the weights but not the biases: each filter has one bias too."
            elif found == (kernel * kernel + 1) * channels * filters:
                hint = (
                    "there is one bias per filter, not one per filter and input channel: "
                    "(kernel_size * kernel_size * in_channels + 1) * filters."
                )
            elif found in ((kernel * kernel + 1) * filters, kernel * kernel * filters + filters):
                hint = (
                    "each filter spans every input channel: multiply the window by in_channels, "
                    "(kernel_size * kernel_size * in_channels + 1) * filters."
                )
            elif found == (kernel * channels + 1) * filters:
                hint = (
                    "the window is kernel_size x kernel_size: square the kernel size, "
                    "(kernel_size * kernel_size * in_channels + 1) * filters."
                )
            raise CheckFailed(name, f"{call} returned {found!r}; expected {expected:,}.", hint)
