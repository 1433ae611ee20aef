"""The files a cluster's daemons read, all in its workdir: containerd's config, the CNI
network, the kubeconfigs and the kubelet's configuration (:class:`ConfigMixin`).

What is set and why (see the reference notes on this machine's pitfalls):

- containerd: its own root, state, sockets and runc root under the workdir; the sandbox image
  is the locally built pause; ``restrict_oom_score_adj`` (root here has no CAP_SYS_RESOURCE:
  runc fails to lower a score); runc with cgroupfs (crun fails in this hybrid cgroup layout);
  the CRI streaming server (exec, logs) on 127.0.0.1 at a random port.
- CNI: a bridge of the cluster's own with host-local addresses from its /24, no gateway, no
  masquerade, no routes: pods reach the subnet and the host's bridge address only (no
  forwarding, no iptables), and the host reaches the pods directly.
- kubelet: ``cgroupRoot`` of its own (two clusters can run at once; the pods' cgroups go with
  it), ``oomScoreAdj: 0``, no iptables chains, no swap check, image GC off (the images are
  built here, never pulled), eviction thresholds at 1 % on a shared disk, no read-only port.
"""

from __future__ import annotations

import json
from pathlib import Path

from .deps import program
from .images import PAUSE_IMAGE

__all__ = ["ConfigMixin"]

CONTAINERD_TOML = """\
version = 2
root = "{wd}/containerd/root"
state = "{wd}/containerd/state"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{wd}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  max_container_log_line_size = 16384

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        Root = "{wd}/runc"
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{wd}/cni/net.d"
    max_conf_num = 1
"""


class ConfigMixin:
    """Writes the config files; needs ``workdir``, ``id``, ``address``, ``subnet``, ``bridge``,
    ``node_name``, ``ports`` and ``cgroup`` (set by :meth:`K8sTestCluster.start`)."""

    workdir: Path
    id: str
    address: str
    subnet: str
    bridge: str
    node_name: str
    cgroup: str
    ports: dict[str, int]

    @property
    def pki(self) -> Path:
        return self.workdir / "pki"

    @property
    def containerd_socket(self) -> Path:
        return self.workdir / "run" / "containerd.sock"

    @property
    def server(self) -> str:
        """The API server's URL (on the bridge address: reachable from pods too)."""
        return f"https://{self.address}:{self.ports['apiserver']}"

    @property
    def kubeconfig(self) -> Path:
        """The admin's kubeconfig (``system:masters``), for clients and kubectl."""
        return self.workdir / "admin.kubeconfig"

    @property
    def cni_network(self) -> str:
        return f"jrk-k8s-{self.id}"

    def _write_kubeconfig(self, name: str, cert: str) -> Path:
        path = self.workdir / f"{name}.kubeconfig"
        user = {"client-certificate": str(self.pki / f"{cert}.crt"),
                "client-key": str(self.pki / f"{cert}.key")}
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "jrk", "cluster": {
                "server": self.server, "certificate-authority": str(self.pki / "ca.crt")}}],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": "jrk", "context": {"cluster": "jrk", "user": name}}],
            "current-context": "jrk"}, indent=1))
        path.chmod(0o600)
        return path

    def _write_configs(self) -> None:
        wd = self.workdir
        for sub in ("run", "containerd", "runc", "cni/net.d", "cni/ipam", "kubelet", "logs",
                    "pod-logs"):
            (wd / sub).mkdir(parents=True, exist_ok=True)
        (wd / "containerd.toml").write_text(CONTAINERD_TOML.format(
            wd=wd, sock=self.containerd_socket, pause=PAUSE_IMAGE, runc=program("runc"),
            cni_bin=Path(program("bridge")).parent))
        (wd / "cni" / "net.d" / "10-jrk.conflist").write_text(json.dumps({
            "cniVersion": "0.4.0", "name": self.cni_network,
            "plugins": [{"type": "bridge", "bridge": self.bridge, "isGateway": False,
                         "ipMasq": False, "hairpinMode": True,
                         "ipam": {"type": "host-local", "dataDir": str(wd / "cni" / "ipam"),
                                  "ranges": [[{"subnet": f"{self.subnet}.0/24",
                                               "rangeStart": f"{self.subnet}.10",
                                               "rangeEnd": f"{self.subnet}.250"}]]}}],
        }, indent=1))
        self._write_kubeconfig("admin", "admin")
        self._write_kubeconfig("controller-manager", "controller-manager")
        self._write_kubeconfig("scheduler", "scheduler")
        self._write_kubeconfig("kubelet", "node")
        (wd / "kubelet.json").write_text(json.dumps({
            "kind": "KubeletConfiguration", "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "address": self.address, "port": self.ports["kubelet"], "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1", "healthzPort": self.ports["kubelet_healthz"],
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": str(self.pki / "ca.crt")}},
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(self.pki / "kubelet.crt"),
            "tlsPrivateKeyFile": str(self.pki / "kubelet.key"),
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "cgroupDriver": "cgroupfs", "cgroupRoot": f"/{self.cgroup}",
            "failSwapOn": False, "oomScoreAdj": 0, "makeIPTablesUtilChains": False,
            "protectKernelDefaults": False,
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "evictionHard": {"memory.available": "1%", "nodefs.available": "1%",
                             "nodefs.inodesFree": "1%", "imagefs.available": "1%"},
            "podLogsDir": str(wd / "pod-logs"),
            "serializeImagePulls": False, "shutdownGracePeriod": "0s",
            "nodeStatusUpdateFrequency": "4s", "syncFrequency": "10s",
        }, indent=1))
