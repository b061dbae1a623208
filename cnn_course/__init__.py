"""cnn-course: convolutional neural networks for image classification with Keras 3."""

__version__ = "0.1.0"
