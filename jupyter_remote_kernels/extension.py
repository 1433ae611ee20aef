"""The Jupyter Server extension: swaps in the remote kernel manager and adds the REST API."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets.utils.importstring import import_item

from . import handlers
from ._version import __version__
from .gateway import gateway_handlers, gateway_settings, gateway_url
from .manager import RemoteMappingKernelManager

__all__ = ["RemoteKernelsApp"]


class RemoteKernelsApp(ExtensionApp):
    """Runs kernels where their kernelspec says (local, SSH hosts, YARN)."""

    name = "jupyter_remote_kernels"
    version = __version__
    description = __doc__

    def _link_jupyter_server_extension(self, serverapp) -> None:
        """Swap in :class:`RemoteMappingKernelManager` before the server creates its manager.

        A ``jupyter_server_config.d`` file cannot do this: Jupyter Server ignores
        ``kernel_manager_class`` there. A manager the user configured explicitly is kept when
        it is ours or a subclass; any other one is kept too, with a warning.
        """
        # Read the configured value, not the trait: its default needs parts of the server
        # that do not exist yet at link time.
        configured = serverapp.config.get("ServerApp", {}).get("kernel_manager_class")
        current = import_item(configured) if isinstance(configured, str) else configured
        if current is None and gateway_url(serverapp):
            # A user's server that reaches its kernels through a gateway (--gateway-url):
            # Jupyter Server's gateway managers stay; /api/remote-kernels asks the gateway.
            serverapp.log.info(
                "jupyter_remote_kernels: kernels run on the gateway %s; /api/remote-kernels "
                "shows where the gateway placed them",
                gateway_url(serverapp),
            )
        elif current is None:
            serverapp.kernel_manager_class = RemoteMappingKernelManager
        elif not (isinstance(current, type) and issubclass(current, RemoteMappingKernelManager)):
            serverapp.log.warning(
                "jupyter_remote_kernels: ServerApp.kernel_manager_class is set to %s, so "
                "process_proxy kernelspecs will not be placed remotely. Use %s or a subclass.",
                configured,
                "jupyter_remote_kernels.RemoteMappingKernelManager",
            )
        # gateway_provisioners' kernelspecs stay listed when GP is not installed.
        if "kernel_spec_class" not in serverapp.config.get("KernelSpecManager", {}):
            serverapp.config.KernelSpecManager.kernel_spec_class = (
                "jupyter_remote_kernels.kernelspecs.RemoteKernelSpec"
            )
        super()._link_jupyter_server_extension(serverapp)

    def initialize_settings(self) -> None:
        if gateway_url(self.serverapp):
            self.settings.update(gateway_settings(self.serverapp))

    def initialize_handlers(self) -> None:
        """The REST API; on a server using a gateway, the placement part only, answered by
        asking the gateway (Jupyter Server's own kernel and session handlers stay)."""
        if gateway_url(self.serverapp):
            self.handlers.extend(gateway_handlers())
        else:
            self.handlers.extend(handlers.handlers())

    async def _start_jupyter_server_extension(self, serverapp) -> None:
        """Once the server runs: reattach to the kernels a previous server left running,
        then start filling the warm pools."""
        manager = serverapp.kernel_manager
        if isinstance(manager, RemoteMappingKernelManager):
            await manager.reattach_kernels()
            manager.pools.start()

    async def stop_extension(self) -> None:
        """Abandon launches still in progress; Jupyter Server then shuts the kernels down.

        Jupyter Server stops extensions first and shuts down only kernels that finished
        starting, so a launch still waiting (e.g. a YARN application in the queue) would
        otherwise be left behind. With no kernel left, the shared services (SSH connections,
        YARN pollers, the response listener) are closed here too.
        """
        manager = self.serverapp.kernel_manager if self.serverapp else None
        if isinstance(manager, RemoteMappingKernelManager):
            await manager.abandon_launches()
            if not manager.list_kernel_ids():
                # Jupyter Server calls shutdown_all only when kernels run (it tests the
                # manager's length), and that closes the shared services: close them here.
                await manager.services.close()
