"""Turn a kernelspec's placement stanza into a jupyter_client provisioner stanza.

Two formats are accepted in ``kernel.json``'s ``metadata``:

* Enterprise Gateway's ``process_proxy``: ``{"class_name": ..., "config": {...}}`` where
  ``class_name`` is an EG class name or the name of an installed backend (``local``,
  ``ssh``, ...);
* jupyter_client's ``kernel_provisioner``: ``{"provisioner_name": ..., "config": {...}}``,
  including gateway_provisioners' (GP) stanzas as GP's spec installers write them: they are
  placed by the backend that names GP's provisioner among its aliases (GP's config keys
  translated as EG's are),
  unless the admin defers them to an installed GP
  (``RemoteMappingKernelManager.defer_to_gateway_provisioners``).

Either way ``config`` overrides the provisioner's traits for that one kernelspec. Errors
name the kernelspec and the field, and say what would be valid.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Optional

from jupyter_client.kernelspec import KernelSpec
from traitlets import TraitError

from .backends import Backend, backends
from .errors import KernelspecError

__all__ = [
    "PLAIN_AUTHORIZATION",
    "Installed",
    "RemoteKernelSpec",
    "eg_class_names",
    "gp_provisioner_names",
    "provisioner_class",
    "provisioner_names",
    "translate_kernelspec",
]

#: Metadata key of a translated plain local kernelspec (EG's LocalProcessProxy with
#: ipykernel's own argv, run by jupyter_client's provisioner): its ``authorized_users`` /
#: ``unauthorized_users``, which the server checks before the start.
PLAIN_AUTHORIZATION = "jrk_authorization"

Known = Optional[dict[str, Backend]]


def provisioner_names(known: Known = None) -> dict[str, str]:
    """Placement kind -> provisioner entry point name, from the installed backends."""
    return {name: b.provisioner_name for name, b in (known or backends()).items()}


def eg_class_names(known: Known = None) -> dict[str, str]:
    """Enterprise Gateway process-proxy class names -> the kind each one means."""
    known = known or backends()
    return {alias: name for name, b in known.items() for alias in b.eg_class_names}


def gp_provisioner_names(known: Known = None) -> dict[str, str]:
    """gateway_provisioners' provisioner names -> the kind each one means."""
    known = known or backends()
    return {alias: name for name, b in known.items() for alias in b.gp_provisioner_names}


#: Their ``config`` keys refused here, and why (the error message says it).
_REFUSED_KEYS = {
    "impersonation_enabled": (
        "this package does not run spark-submit --proxy-user for you; kernels run as the "
        "requester's mapped user (RemoteMappingKernelManager.kernel_user_mapping), which a "
        "submitter script may pass on as --proxy-user ${KERNEL_USERNAME}"
    ),
}

_GROUP = "jupyter_client.kernel_provisioners"


@dataclass(frozen=True)
class Installed:
    """The installed backends and provisioner entry points, read once by their user (the
    kernel manager reads them at its first start: a scan of every installed distribution's
    metadata costs ~10 ms of CPU, which each start would otherwise pay again)."""

    backends: dict[str, Backend] = field(default_factory=backends)
    provisioners: dict[str, EntryPoint] = field(
        default_factory=lambda: {ep.name: ep for ep in entry_points(group=_GROUP)}
    )


def provisioner_class(
    kernel_name: str, provisioner_name: str, installed: Optional[Installed] = None
) -> type:
    """The installed provisioner class of that name; KernelspecError naming the kernelspec."""
    provisioners = (installed or Installed()).provisioners
    found = provisioners.get(provisioner_name)
    if found is None:
        available = sorted(provisioners)
        msg = (
            f"Kernelspec '{kernel_name}': provisioner '{provisioner_name}' is not installed. "
            f"Installed provisioners: {', '.join(available)}."
        )
        raise KernelspecError(msg)
    return found.load()


def _check_config(kernel_name: str, where: str, cls: type, config: dict[str, Any]) -> None:
    """Each key must be a configurable trait of ``cls`` and its value must validate."""
    traits = cls.class_traits(config=True)
    for key, value in config.items():
        if key not in traits:
            msg = (
                f"Kernelspec '{kernel_name}': unknown field '{where}.config.{key}'. "
                f"Valid fields: {', '.join(sorted(traits))}."
            )
            raise KernelspecError(msg)
        try:
            cls(**{key: value})
        except (TraitError, ValueError, TypeError) as exc:
            msg = f"Kernelspec '{kernel_name}': bad value for '{where}.config.{key}': {exc}"
            raise KernelspecError(msg) from exc


def eg_config(
    config: dict[str, Any], kind: Optional[str] = None, known: Known = None
) -> dict[str, Any]:
    """EG's and GP's spellings as ours: the shared keys here, the backend ``kind``'s own by
    its :attr:`~jupyter_remote_kernels.backends.Backend.eg_config`."""
    result = dict(config)
    for key in ("authorized_users", "unauthorized_users"):
        if isinstance(result.get(key), str):
            result[key] = [user.strip() for user in result[key].split(",") if user.strip()]
    backend = (known or backends()).get(kind) if kind else None
    if backend is not None and backend.eg_config is not None:
        result = backend.eg_config(result)
    return result


def _uses_launcher(argv: list[str]) -> bool:
    return any("{response_address}" in arg for arg in argv)


def _refuse_keys(kernel_name: str, where: str, config: dict[str, Any]) -> None:
    for key, reason in _REFUSED_KEYS.items():
        if key in config:
            msg = f"Kernelspec '{kernel_name}': '{where}.config.{key}' is not supported: {reason}."
            raise KernelspecError(msg)


def gp_installed(provisioner_name: str, installed: Optional[Installed] = None) -> bool:
    """True when gateway_provisioners' provisioner of this name is installed here."""
    found = (installed or Installed()).provisioners.get(provisioner_name)
    return found is not None and found.value.startswith("gateway_provisioners")


def _from_process_proxy(
    kernel_name: str,
    spec: KernelSpec,
    process_proxy: dict[str, Any],
    config: dict[str, Any],
    known: dict[str, Backend],
) -> tuple[str, dict[str, Any]]:
    """The provisioner name and config an Enterprise Gateway ``process_proxy`` means."""
    where = "metadata.process_proxy"
    class_name = process_proxy.get("class_name")
    names, eg_names = provisioner_names(known), eg_class_names(known)
    kind = eg_names.get(class_name, class_name)
    if kind not in names:
        msg = (
            f"Kernelspec '{kernel_name}': unknown {where}.class_name {class_name!r}. Use "
            f"one of {', '.join(names)} or an Enterprise Gateway class name "
            f"({', '.join(eg_names)})."
        )
        raise KernelspecError(msg)
    _refuse_keys(kernel_name, where, config)
    config = eg_config(config, kind, known)
    plain = known[kind].no_launcher_provisioner
    if plain and not _uses_launcher(spec.argv):
        # Enterprise Gateway's plain local specs (ipykernel_launcher -f {connection_file})
        # run unchanged under jupyter_client's own local provisioner; the server checks
        # their user lists (PLAIN_AUTHORIZATION) before the start.
        return plain, {}
    return names[kind], config


def _user_lists(config: dict[str, Any]) -> dict[str, list[str]]:
    """``authorized_users`` / ``unauthorized_users`` of an EG ``config`` (list or string)."""
    lists = {k: config[k] for k in ("authorized_users", "unauthorized_users") if k in config}
    return {k: list(v) for k, v in eg_config(lists).items() if isinstance(v, list)}


def _pool_settings(
    kernel_name: str, where: str, config: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``config`` without the warm pool's keys, and those keys (read by the server's pools,
    not by the provisioner)."""
    if "pool_size" not in config:
        return config, {}
    rest = dict(config)
    size = rest.pop("pool_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        msg = (
            f"Kernelspec '{kernel_name}': bad value for '{where}.config.pool_size': {size!r}; "
            "use a whole number of warm kernels, 0 or more."
        )
        raise KernelspecError(msg)
    return rest, {"pool_size": size}


def translate_kernelspec(
    kernel_name: str,
    spec: KernelSpec,
    defer_to_gateway_provisioners: bool = False,
    installed: Optional[Installed] = None,
) -> KernelSpec:
    """Return ``spec`` with a validated ``kernel_provisioner`` stanza.

    Called by :class:`~jupyter_remote_kernels.manager.RemoteKernelManager` before each
    launch. A spec without placement metadata is returned unchanged, and so is a GP
    stanza when ``defer_to_gateway_provisioners`` is True and GP's provisioner is installed.
    ``installed``: the backends and provisioners as read once by the caller (default: read
    now).
    """
    metadata = spec.metadata or {}
    process_proxy = metadata.get("process_proxy")
    native = metadata.get("kernel_provisioner")
    if process_proxy is not None and native is not None:
        msg = (
            f"Kernelspec '{kernel_name}' has both metadata.process_proxy and "
            "metadata.kernel_provisioner; keep one."
        )
        raise KernelspecError(msg)
    if process_proxy is None and native is None:
        return spec
    where = "metadata.process_proxy" if process_proxy is not None else "metadata.kernel_provisioner"
    stanza = process_proxy if process_proxy is not None else native
    if not isinstance(stanza, dict):
        msg = f"Kernelspec '{kernel_name}': {where} must be an object, not {stanza!r}."
        raise KernelspecError(msg)
    config = stanza.get("config") or {}
    if not isinstance(config, dict):
        msg = f"Kernelspec '{kernel_name}': {where}.config must be an object, not {config!r}."
        raise KernelspecError(msg)

    config, pool = _pool_settings(kernel_name, where, config)
    stanza_config = dict(config)
    installed = installed or Installed()
    known = installed.backends
    if process_proxy is not None:
        provisioner_name, config = _from_process_proxy(
            kernel_name, spec, process_proxy, config, known
        )
    else:
        provisioner_name = native.get("provisioner_name")
        if not isinstance(provisioner_name, str) or not provisioner_name:
            msg = f"Kernelspec '{kernel_name}': {where}.provisioner_name is missing."
            raise KernelspecError(msg)
        gp_names = gp_provisioner_names(known)
        if provisioner_name in gp_names:
            if defer_to_gateway_provisioners and gp_installed(provisioner_name, installed):
                return spec
            kind = gp_names[provisioner_name]
            config = eg_config(config, kind, known)
            provisioner_name = provisioner_names(known)[kind]
        _refuse_keys(kernel_name, where, config)

    cls = provisioner_class(kernel_name, provisioner_name, installed)
    _check_config(kernel_name, where, cls, config)
    if not spec.argv:
        msg = f"Kernelspec '{kernel_name}': argv is empty; it must start the kernel or launcher."
        raise KernelspecError(msg)
    translated = KernelSpec(**spec.to_dict(), resource_dir=spec.resource_dir)
    translated.metadata = copy.deepcopy(metadata)
    translated.metadata["kernel_provisioner"] = {
        "provisioner_name": provisioner_name,
        "config": config,
    }
    if pool:
        translated.metadata["jrk_pool"] = pool
    if provisioner_name == "local-provisioner" and process_proxy is not None:
        translated.metadata[PLAIN_AUTHORIZATION] = _user_lists(stanza_config)
    return translated


class RemoteKernelSpec(KernelSpec):
    """A kernelspec whose gateway_provisioners stanza names this package's provisioner
    when GP's is not installed.

    jupyter_client hides a kernelspec whose provisioner is not installed, so GP's specs
    would be missing from ``/api/kernelspecs`` (JupyterLab's launcher) although they start.
    The server extension makes it the server's ``KernelSpecManager.kernel_spec_class``
    (unless one is configured); the KernelSpecManager makes one per kernelspec it reads.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        native = (self.metadata or {}).get("kernel_provisioner")
        if not isinstance(native, dict):
            return
        name = native.get("provisioner_name")
        known = backends()
        gp_names = gp_provisioner_names(known)
        if name in gp_names and not gp_installed(name):
            config = native.get("config")
            kind = gp_names[name]
            metadata = copy.deepcopy(self.metadata)
            metadata["kernel_provisioner"] = {
                "provisioner_name": provisioner_names(known)[kind],
                "config": eg_config(config, kind, known) if isinstance(config, dict) else config,
            }
            self.metadata = metadata
