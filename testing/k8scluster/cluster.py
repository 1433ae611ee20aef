"""A real single-node Kubernetes cluster on this machine, for tests and benchmarks.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a kubelet running real
containers through containerd and runc; pods on a bridge of the cluster's own
(``jrkk8s<k>``, ``10.214.k.0/24``; the host is ``.1``, where the API server listens and where
a Jupyter Server under test listens for kernels calling back). No kube-proxy and no DNS:
Service IPs do not work; a client in a pod uses ``https://10.214.k.1:6443``.

    with K8sTestCluster() as k8s:
        k8s.kubeconfig                  # admin kubeconfig (system:masters), for any client
        k8s.address                     # the host's bridge address, reachable from pods
        k8s.api("GET", "/api/v1/nodes") # a tiny synchronous client for the harness
        k8s.client_kubeconfig("jrk-server")     # a user of its own, for the server under test
        k8s.requests_by("jrk-server", since=t0) # its requests, from the API server's audit log
        PYTHON_IMAGE                    # "any image with Python and ipykernel"

A fresh cluster (etcd data, certificates, kubelet root) per start; the images are imported
into its own containerd from the cache (``python -m testing.k8scluster build`` makes them).
Everything the cluster makes is recorded in ``/tmp/jrk-k8scluster/<id>.json`` before it is
made; ``stop()`` deletes the pods, stops the daemons and undoes everything (processes,
mounts, network namespaces, bridge, cgroups, iptables chains, sysctls), and a later cluster
reaps what an owner that died without ``stop()`` left. No pytest import: benchmarks use it.

Modules: :mod:`.deps` (what is needed), :mod:`.build` and :mod:`.images` (the cache),
:mod:`.pki`, :mod:`.config`, :mod:`.daemons`, :mod:`.host` (host changes and their undoing),
:mod:`.procs` (state files, stale clusters), :mod:`.audit` (counting requests).
"""

from __future__ import annotations

import atexit
import contextlib
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional, Union

from testing.procs import StateOwner, free_port

from . import host
from .audit import AuditMixin
from .config import ConfigMixin
from .daemons import SERVICE_IP, DaemonsMixin
from .deps import K8sClusterError, require
from .procs import STATE_FILES, cleanup_stale, remove_resources

__all__ = ["K8sTestCluster"]

#: Stop order: nothing new is scheduled or started once the kubelet is gone.
STOP_ORDER = ["kube-scheduler", "kube-controller-manager", "kubelet", "kube-apiserver",
              "containerd", "etcd"]


class K8sTestCluster(AuditMixin, ConfigMixin, DaemonsMixin, StateOwner):
    """One single-node cluster. See the module docstring."""

    __test__ = False
    state_files = STATE_FILES

    def __init__(self, workdir: Union[str, Path, None] = None, *,
                 start_timeout: float = 180.0, label: str = ""):
        self.id = secrets.token_hex(3)
        self.label = label
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="jrk-k8s-"))
        self.start_timeout = start_timeout
        self.node_name = f"jrk-node-{self.id}"
        self.cgroup = f"jrk-k8s-{self.id}"
        self.bridge = ""
        self.subnet = ""
        self.address = ""
        self.ports: dict[str, int] = {}
        self._procs: dict[str, subprocess.Popen] = {}
        self._state: dict = {}
        self._started = self._stopped = False
        self._deadline = 0.0
        self.startup_seconds: Optional[float] = None
        self.timings: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"<K8sTestCluster {self.id} {self.server if self.ports else 'unstarted'}>"

    # -- start -------------------------------------------------------------------------------
    def start(self) -> K8sTestCluster:
        """Start everything and wait until the node is Ready and the default ServiceAccount
        exists (raises :class:`K8sClusterError` with the failing daemon's log). Idempotent."""
        if self._started:
            return self
        self._started = True
        t0 = time.monotonic()
        self._deadline = t0 + self.start_timeout
        require()
        atexit.register(self._atexit_stop)
        try:
            self._claim_host()
            # cryptography is needed to run a cluster, not to build one (.ci/run builds
            # before pip has installed the test extras).
            from .pki import make_pki  # noqa: PLC0415

            self._step("pki", lambda: make_pki(self.pki, address=self.address,
                                               node=self.node_name, service_ip=SERVICE_IP))
            self._write_configs()
            self._step("etcd", self._start_etcd)
            self._step("containerd+images", self._start_containerd)
            self._step("apiserver", self._start_apiserver)
            self._start_controllers()
            self._start_kubelet()
            self._step("node-ready", self._wait_ready)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        self._state.update(server=self.server, kubeconfig=str(self.kubeconfig),
                           node=self.node_name, address=self.address,
                           startup_seconds=round(self.startup_seconds, 1))
        self.record()
        return self

    def _step(self, name: str, func) -> None:
        t = time.monotonic()
        func()
        self.timings[name] = round(time.monotonic() - t, 1)

    def _claim_host(self) -> None:
        """Under the harness lock: reap dead clusters, pick a subnet, record what is about
        to change (and its old values), then make the bridge and the cgroup root."""
        with STATE_FILES.lock():
            cleanup_stale()
            others = STATE_FILES.live()
            k = host.pick_subnet([s for _, s in STATE_FILES.states()])
            self.subnet = f"{host.SUBNET_PREFIX}.{k}"
            self.address = f"{self.subnet}.1"
            self.bridge = f"{host.BRIDGE_PREFIX}{k}"
            # Values from before the first running cluster changed anything (see procs).
            sysctls = others[0]["sysctls"] if others and others[0].get("sysctls") \
                else host.save_sysctls()
            iptables = others[0]["iptables_before"] if others and \
                "iptables_before" in others[0] else host.iptables_chains()
            made = others[0].get("made_paths", []) if others else host.absent_paths()
            STATE_FILES.mark_workdir(self.workdir, self.id)
            self._state = STATE_FILES.new(
                self.id, label=self.label, workdir=str(self.workdir),
                own_workdir=self._own_workdir, daemons=[], subnet_k=k, bridge=self.bridge,
                cgroup=self.cgroup, cni_network=self.cni_network, sysctls=sysctls,
                iptables_before=iptables, made_paths=made,
                shim_sockets_before=host.shim_sockets(),
                made_run_containerd=not host.SHIM_SOCKETS.parent.exists())
            host.make_bridge(self.bridge, self.address)
            host.make_cgroups(self.cgroup)
        self.ports = {"apiserver": 6443, "kubelet": 10250,
                      **{name: free_port("127.0.0.1") for name in (
                          "etcd", "etcd_peer", "controller_manager", "scheduler",
                          "kubelet_healthz")}}

    # -- stop --------------------------------------------------------------------------------
    def delete_all_pods(self, timeout: float = 20.0) -> None:
        """Delete every pod (1 s grace) and wait until the kubelet has torn them down, so
        that their sandboxes' network namespaces and mounts go the regular way."""
        namespaces = [n["metadata"]["name"] for n in
                      self.api("GET", "/api/v1/namespaces").get("items", [])]
        for ns in namespaces:
            self.api("DELETE", f"/api/v1/namespaces/{ns}/pods?gracePeriodSeconds=1")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.api("GET", "/api/v1/pods").get("items"):
                return
            time.sleep(0.3)

    def stop(self) -> None:
        """Delete the pods, stop the daemons, undo every host change, remove a workdir the
        cluster made. Idempotent; raises :class:`K8sClusterError` when something survived."""
        if not self._begin_stop():
            return
        errors: list[str] = []
        kubelet = self._procs.get("kubelet")
        if kubelet is not None and kubelet.poll() is None and self._state.get("server"):
            with contextlib.suppress(K8sClusterError):
                self.delete_all_pods()
        self._terminate(STOP_ORDER)
        if self._state:
            errors += remove_resources(self._state, remove_workdir=False)
        if host.mounts_under(self.workdir):  # never rmtree through a mount
            self._own_workdir = False
        self._finish_stop(errors, K8sClusterError, "Kubernetes test cluster")
