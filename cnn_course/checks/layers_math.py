"""Checks for the arithmetic exercises: convolution output sizes and parameter counts."""

from __future__ import annotations

from collections.abc import Callable

from cnn_course.checks.arrays import expect_integer
from cnn_course.checks.feedback import CheckFailed

# (input_size, kernel_size, stride, padding) -> output size, as Keras computes it. With 'same', an
# even kernel and a stride that does not divide the size tell ceil(input / stride) from its look-alikes
# (the padded formula with kernel_size // 2, round(), floor division).
CONV_OUTPUT_CASES = {
    (28, 3, 1, "valid"): 26,
    (13, 3, 1, "valid"): 11,
    (26, 2, 2, "valid"): 13,
    (11, 2, 2, "valid"): 5,
    (32, 5, 1, "valid"): 28,
    (10, 4, 3, "valid"): 3,
    (28, 3, 1, "same"): 28,
    (28, 3, 2, "same"): 14,
    (7, 3, 2, "same"): 4,
    (28, 2, 1, "same"): 28,
    (9, 3, 4, "same"): 3,
}
# (kernel_size, in_channels, filters) -> trainable parameters of a Conv2D layer with bias.
CONV_PARAM_CASES = {(3, 1, 32): 320, (3, 32, 64): 18_496, (5, 3, 16): 1_216, (1, 64, 10): 650, (3, 2, 1): 19}


def check_conv_output_size(conv_output_size: Callable) -> None:
    """conv_output_size(input_size, kernel_size, stride, padding) matches Keras for every case, as an int."""
    name = "conv_output_size"
    for (size, kernel, stride, padding), expected in CONV_OUTPUT_CASES.items():
        call = f"conv_output_size({size}, {kernel}, stride={stride}, padding='{padding}')"
        found = expect_integer(
            name,
            conv_output_size(size, kernel, stride=stride, padding=padding),
            call,
            "a size is a whole number: use floor division // and math.ceil (which return ints), or wrap the result in int(...).",
        )
        if found != expected:
            if padding == "valid":
                hint = "with padding='valid' the window must fit inside the image: (input_size - kernel_size) // stride + 1."
                if found == (size - kernel) // stride:
                    hint = "count the first window too: (input_size - kernel_size) // stride + 1 (the + 1 is missing)."
                elif found == size - kernel + 1:
                    hint = "the stride is ignored: the window moves `stride` pixels at a time, (input_size - kernel_size) // stride + 1."
            else:
                hint = "with padding='same' only the stride shrinks the image: ceil(input_size / stride), whatever the kernel size."
            raise CheckFailed(name, f"{call} returned {found!r}; expected {expected}.", hint)


def check_conv2d_param_count(conv2d_param_count: Callable) -> None:
    """conv2d_param_count(kernel_size, in_channels, filters) counts weights and biases, as an int."""
    name = "conv2d_param_count"
    for (kernel, channels, filters), expected in CONV_PARAM_CASES.items():
        call = f"conv2d_param_count({kernel}, {channels}, {filters})"
        found = expect_integer(name, conv2d_param_count(kernel, channels, filters), call, "a parameter count is a whole number: compute with ints (** and *, not math.pow) or wrap it in int(...).")
        if found != expected:
            hint = "each filter has kernel_size * kernel_size * in_channels weights plus 1 bias."
            if found == kernel * kernel * channels * filters:
                hint = "you counted the weights but not the biases: each filter has one bias too."
            elif found == (kernel * kernel + 1) * channels * filters:
                hint = "there is one bias per filter, not one per filter and input channel: (kernel_size * kernel_size * in_channels + 1) * filters."
            elif found in ((kernel * kernel + 1) * filters, kernel * kernel * filters + filters):
                hint = "each filter spans every input channel: multiply the window by in_channels, (kernel_size * kernel_size * in_channels + 1) * filters."
            elif found == (kernel * channels + 1) * filters:
                hint = "the window is kernel_size x kernel_size: square the kernel size, (kernel_size * kernel_size * in_channels + 1) * filters."
            raise CheckFailed(name, f"{call} returned {found!r}; expected {expected:,}.", hint)
