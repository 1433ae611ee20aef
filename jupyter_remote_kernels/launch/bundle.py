"""The launch bundle: the per-kernel secrets a launcher gets, and the kernel's Curve keys.

The bundle travels encoded by :func:`~.protocol.encode_bundle` (one shell-safe line)
through the launch channel: the launcher's stdin, or one environment variable of a
container; never through argv.
"""

from __future__ import annotations

from typing import Any, Optional

import zmq

__all__ = ["curve_fields", "make_bundle", "prepare_curve_keys"]


def prepare_curve_keys(km: Any, metadata: dict[str, Any]) -> bool:
    """Make the kernel's CurveZMQ keypair when transport encryption applies to it.

    ``MappingKernelManager.transport_encryption`` = ``required`` encrypts every kernel
    (jupyter_client refuses kernelspecs that do not declare ``supported_encryption``);
    ``auto`` encrypts kernels whose kernelspec ``metadata`` declares it. The keypair is made
    here, on the server, and travels to the launcher inside the launch bundle, never in
    clear over the network: jupyter_client's clients reuse the kernel's keypair, so the
    server must know the secret key. Returns whether the kernel is to be encrypted.
    """
    policy = str(getattr(km, "transport_encryption", "disabled") or "disabled").lower()
    supported = metadata.get("supported_encryption") or []
    if isinstance(supported, str):
        supported = [supported]
    declared = "curve" in {str(item).strip().lower() for item in supported}
    wanted = policy == "required" or (policy == "auto" and declared)
    if wanted:
        if km.curve_publickey is None or km.curve_secretkey is None:
            km.curve_publickey, km.curve_secretkey = zmq.curve_keypair()
    else:
        km.curve_publickey = km.curve_secretkey = None
    return wanted


def curve_fields(km: Any) -> dict[str, str]:
    """The kernel's Curve keys as bundle / connection-info fields (none when unencrypted)."""
    if km.curve_publickey is None or km.curve_secretkey is None:
        return {}
    return {
        "curve_publickey": km.curve_publickey.decode(),
        "curve_secretkey": km.curve_secretkey.decode(),
    }


def make_bundle(
    km: Any,
    kernel_id: str,
    auth_key: str,
    ip: str,
    *,
    pool: bool = False,
    kernel_argv: Optional[list[str]] = None,
) -> dict[str, Any]:
    """The bundle for one launch of the kernel ``km`` manages, binding ``ip``.

    ``pool`` marks a warm pool's launch: only then does the launcher give the kernel the
    hook that the communication port's ``prepare`` needs (see :mod:`.protocol`).
    ``kernel_argv`` is the command of a kernel other than ipykernel (the provisioner's
    ``kernel_argv``): it travels here rather than in the launcher's argv, which every user
    of the host sees and which some deliveries (a YARN launch script) mangle.
    """
    bundle = {
        "protocol": "jrk-launch/1",
        "kernel_id": kernel_id,
        "auth_key": auth_key,
        "key": km.session.key.decode(),
        "signature_scheme": km.session.signature_scheme,
        "ip": ip,
        **curve_fields(km),
    }
    if pool:
        bundle["pool"] = True
    if kernel_argv:
        bundle["kernel_argv"] = list(kernel_argv)
    return bundle
