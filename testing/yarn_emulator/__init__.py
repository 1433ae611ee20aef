"""YARN ResourceManager REST emulator (and a spark-submit stand-in) for tests.

See :mod:`testing.yarn_emulator.rm` for the emulator and
:mod:`testing.yarn_emulator.submit` for the submitter.
"""

from .rm import Fault, RequestRecord, YarnApp, YarnAttempt, YarnCluster, YarnRM

__all__ = ["Fault", "RequestRecord", "YarnApp", "YarnAttempt", "YarnCluster", "YarnRM"]
