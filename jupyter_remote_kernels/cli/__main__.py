"""``python -m jupyter_remote_kernels.cli``."""

from .app import main

main()
