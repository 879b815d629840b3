"""Train and use the VAE from the command line: `python vae.py --help` (train is the default subcommand)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from latentlab.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
