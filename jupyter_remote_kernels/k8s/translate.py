"""Enterprise Gateway's and gateway_provisioners' Kubernetes kernelspecs, as this backend's.

EG's ``KubernetesProcessProxy`` and GP's ``kubernetes-provisioner`` kernelspecs run
``python .../scripts/launch_kubernetes.py ...`` on the gateway's host, which renders
``kernel-pod.yaml.j2`` and creates a pod whose image has EG's launcher baked in. Here the pod
runs this package's launcher in any image with Python and ipykernel, so such a spec starts
unchanged: its argv becomes ``[k8s_python, {launcher}, <its options>]`` (the launcher takes
EG's option spellings; ``--public-key`` and ``--transport-encryption`` are dropped), its
``image_name`` becomes ``k8s_image``. ``jupyter remote-kernels migrate`` writes the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["EG_SCRIPTS", "eg_argv", "eg_config", "is_eg_argv", "migrated_argv"]

#: The scripts an EG / GP Kubernetes kernelspec's argv runs on the gateway's host.
EG_SCRIPTS = ("launch_kubernetes.py", "launch_ipykernel.py")
_DROPPED = (
    "--RemoteProcessProxy.public-key",
    "--public-key",
    "--transport-encryption",
    "--RemoteProcessProxy.transport-encryption",
)
#: EG / GP config keys of no meaning here: Spark executors' image (no Spark on Kubernetes).
_IGNORED = ("executor_image_name",)


def _is_eg_script(arg: str) -> bool:
    return arg.endswith(EG_SCRIPTS) and "jupyter_remote_kernels" not in arg


def is_eg_argv(argv: list[str]) -> bool:
    """True for the argv of an EG / GP Kubernetes kernelspec (it runs their script)."""
    return any(_is_eg_script(arg) for arg in argv)


def eg_argv(
    argv: list[str],
    launcher: str = "{launcher}",
    python: str = "python3",
    extra: Sequence[str] = ("--ip", "{pod_ip}"),
) -> list[str]:
    """An EG / GP argv as this backend's: ``python`` (the image's) runs ``launcher`` with
    the argv's options, less those of EG's key exchange, and ``extra`` (the kernel binds the
    pod's IP). Any other argv is returned as is."""
    if not is_eg_argv(argv):
        return list(argv)
    at = next(i for i, arg in enumerate(argv) if _is_eg_script(arg))
    out, skip = [python, launcher], False
    for arg in argv[at + 1 :]:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _DROPPED:
            skip = "=" not in arg
            continue
        out.append(arg)
    return [*out, *extra]


def migrated_argv(argv: list[str], config: dict[str, Any]) -> list[str]:
    """What ``migrate`` writes for an EG / GP argv: the image's Python (``k8s_python``) runs
    ``{launcher}`` and the kernel binds ``{pod_ip}``."""
    return eg_argv(argv, python=str(config.get("k8s_python") or "python3"))


def eg_config(config: dict[str, Any]) -> dict[str, Any]:
    """EG's and GP's Kubernetes keys as ours (order kept): ``image_name`` -> ``k8s_image``;
    ``executor_image_name`` dropped (Spark executors' image)."""
    result = {}
    for key, value in config.items():
        if key == "image_name":
            result["k8s_image"] = value
        elif key not in _IGNORED:
            result[key] = value
    return result
