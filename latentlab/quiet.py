"""Import Keras (and TensorFlow) without the native start-up lines TensorFlow writes to stderr.

On a machine without a GPU, TensorFlow's C++ side prints CUDA and logging notices while it loads;
they would bury the one-line messages the CLI and the window give. Python exceptions still show.
"""

import os
import sys


def import_keras() -> None:
    """Import keras with file descriptor 2 pointed at /dev/null, and TensorFlow's C++ logging off."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
