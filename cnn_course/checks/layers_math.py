"""Checks for the arithmetic exercises: convolution output sizes and parameter counts."""

from __future__ import annotations

from collections.abc import Callable

from cnn_course.checks.feedback import CheckFailed

# (input_size, kernel_size, stride, padding) -> output size, as Keras computes it.
CONV_OUTPUT_CASES = {
    (28, 3, 1, "valid"): 26,
    (13, 3, 1, "valid"): 11,
    (26, 2, 2, "valid"): 13,
    (11, 2, 2, "valid"): 5,
    (32, 5, 1, "valid"): 28,
    (28, 3, 1, "same"): 28,
    (28, 3, 2, "same"): 14,
    (7, 3, 2, "same"): 4,
}
# (kernel_size, in_channels, filters) -> trainable parameters of a Conv2D layer with bias.
CONV_PARAM_CASES = {(3, 1, 32): 320, (3, 32, 64): 18_496, (5, 3, 16): 1_216, (1, 64, 10): 650}


def check_conv_output_size(conv_output_size: Callable) -> None:
    """conv_output_size(input_size, kernel_size, stride, padding) matches Keras for every case."""
    name = "conv_output_size"
    for (size, kernel, stride, padding), expected in CONV_OUTPUT_CASES.items():
        found = conv_output_size(size, kernel, stride=stride, padding=padding)
        if found != expected:
            hint = (
                "with padding='valid' the window must fit inside the image: (input_size - kernel_size) // stride + 1."
                if padding == "valid"
                else "with padding='same' only the stride shrinks the image: ceil(input_size / stride)."
            )
            raise CheckFailed(
                name,
                f"conv_output_size({size}, {kernel}, stride={stride}, padding='{padding}') returned {found!r}; expected {expected}.",
                hint,
            )


def check_conv2d_param_count(conv2d_param_count: Callable) -> None:
    """conv2d_param_count(kernel_size, in_channels, filters) counts weights and biases."""
    name = "conv2d_param_count"
    for (kernel, channels, filters), expected in CONV_PARAM_CASES.items():
        found = conv2d_param_count(kernel, channels, filters)
        if found != expected:
            hint = "each filter has kernel_size * kernel_size * in_channels weights plus 1 bias."
            if found == kernel * kernel * channels * filters:
                hint = "you counted the weights but not the biases: each filter has one bias too."
            raise CheckFailed(
                name, f"conv2d_param_count({kernel}, {channels}, {filters}) returned {found!r}; expected {expected:,}.", hint
            )
