"""cnn-course: convolutional neural networks for image classification with Keras 3."""

from cnn_course import quiet

quiet.install()  # before anything imports TensorFlow

__version__ = "0.1.0"
