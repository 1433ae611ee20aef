"""Errors raised by jupyter_remote_kernels.

Every message says what failed, where (kernelspec, host, application id) and what to do.

Hierarchy::

    RemoteKernelError                 base class; carries the HTTP status for the REST API
    ├── KernelspecError               a kernelspec's placement stanza is wrong
    ├── NotAuthorized                 the kernelspec does not allow this user (or this request)
    ├── InvalidRequest                a start request's KERNEL_* value is malformed
    ├── PlacementError                no host / cluster could take the kernel
    ├── LaunchError                   the launcher or the kernel failed before it was ready
    │   └── LaunchTimeout             no valid callback arrived within the launch timeout
    ├── CallbackRejected              a callback to the response address was refused
    └── CommPortError                 the launcher's communication port did not answer correctly

Each backend's own errors live in its package and subclass these (a scheduler's refused
request, a host that cannot be used): the core knows no backend.
"""

from __future__ import annotations

__all__ = [
    "CallbackRejected",
    "CommPortError",
    "InvalidRequest",
    "KernelspecError",
    "LaunchError",
    "LaunchTimeout",
    "NotAuthorized",
    "PlacementError",
    "RemoteKernelError",
]


class RemoteKernelError(Exception):
    """Base class of every error this package raises on purpose.

    ``http_status`` is what ``POST /api/kernels`` and ``POST /api/sessions`` answer with when
    a kernel start fails with this error.
    """

    http_status = 500


class KernelspecError(RemoteKernelError):
    """A kernelspec's placement stanza names an unknown class or holds a bad value."""

    http_status = 400


class NotAuthorized(RemoteKernelError):
    """The kernelspec refuses this user, or a request beyond the admin's limits."""

    http_status = 403


class InvalidRequest(RemoteKernelError):
    """A start request's ``KERNEL_*`` value is malformed (a time limit that is not one)."""

    http_status = 400


class PlacementError(RemoteKernelError):
    """No host or cluster could take the kernel; the message lists each one tried and why."""

    http_status = 503


class LaunchError(RemoteKernelError):
    """The launcher or the kernel failed before the kernel was ready."""

    http_status = 500


class LaunchTimeout(LaunchError):
    """No valid callback from the launcher arrived within the launch timeout."""

    http_status = 504


class CallbackRejected(RemoteKernelError):
    """A connection to the response address did not carry a valid, expected callback."""

    http_status = 400


class CommPortError(RemoteKernelError):
    """The launcher's communication port refused, timed out or answered unauthenticated."""

    http_status = 502
