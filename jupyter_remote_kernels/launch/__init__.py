"""The server side of the launcher protocol: response listener and communication-port client."""

from .comm import CommClient
from .listener import ResponseListener

__all__ = ["CommClient", "ResponseListener"]
