"""Starting the cluster's daemons and waiting until each serves (:class:`DaemonsMixin`):
etcd (plain HTTP on 127.0.0.1), containerd (on a clone of the seeded root), kube-apiserver (on the
bridge address), kube-controller-manager and kube-scheduler (127.0.0.1), the kubelet. Each
runs niced under its own name with its log in ``<workdir>/logs/`` and the environment mark
``JRK_K8SCLUSTER=<id>-<name>`` (inherited by containerd's shims), recorded in the state
file before it starts. :meth:`api` is a tiny synchronous client (admin certificate) for the
harness itself; tests use a real client with :attr:`kubeconfig`."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

from testing.procs import start_time, tail

from .deps import K8sClusterError, bin_dir, program
from .images import IMAGES, clone_seed
from .procs import ENV_MARK

__all__ = ["DaemonsMixin"]

SERVICE_CIDR = "10.96.0.0/12"
SERVICE_IP = "10.96.0.1"


class DaemonsMixin:
    workdir: Path
    id: str
    address: str
    node_name: str
    ports: dict[str, int]
    pki: Path
    server: str
    kubeconfig: Path
    containerd_socket: Path
    _procs: dict[str, subprocess.Popen]
    _deadline: float
    record: Any  # StateOwner.record
    _audit_args: Any  # AuditMixin._audit_args

    def log_path(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _launch(self, name: str, argv: list[str]) -> subprocess.Popen:
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": str(self.workdir), "LANG": "C.UTF-8",
               ENV_MARK: f"{self.id}-{name}"}
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(["nice", "-n", "5", *argv], stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=self.workdir, start_new_session=True)
        self._procs[name] = proc
        self.record(daemons=[[proc.pid, start_time(proc.pid), name]])
        return proc

    def _fail(self, what: str, name: str) -> K8sClusterError:
        return K8sClusterError(f"{what} (log {self.log_path(name)}):\n"
                               f"{tail(self.log_path(name))}")

    def _wait(self, what: str, name: str, probe, timeout: Optional[float] = None) -> Any:
        """Call *probe* until it returns a truthy value; fail when *name* exits or at the
        deadline, with its log's tail."""
        deadline = min(self._deadline, time.monotonic() + timeout) if timeout else self._deadline
        while True:
            proc = self._procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise self._fail(f"{name} exited with {proc.returncode} before {what}", name)
            try:
                value = probe()
            except (OSError, ValueError, K8sClusterError):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise self._fail(f"timed out waiting for {what}", name)
            time.sleep(0.25)

    # -- a small client ------------------------------------------------------------------------
    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return ctx

    def api(self, method: str, path: str, body: Optional[dict] = None,
            timeout: float = 10.0) -> Any:
        """One request to the API server as the admin; the decoded JSON (or text)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._ssl(), timeout=timeout) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            msg = f"{method} {path}: HTTP {exc.code}: {detail}"
            raise K8sClusterError(msg) from exc
        except (urllib.error.URLError, OSError) as exc:
            msg = f"{method} {path}: {exc}"
            raise K8sClusterError(msg) from exc
        try:
            return json.loads(text)
        except ValueError:
            return text

    # -- the daemons ---------------------------------------------------------------------------
    def _start_etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd_peer']}"
        self._launch("etcd", [
            program("etcd"), "--name", "jrk", "--data-dir", str(self.workdir / "etcd"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"jrk={peer}", "--log-level", "warn"])

        def healthy():
            with urllib.request.urlopen(f"{client}/health", timeout=2) as resp:
                return json.loads(resp.read()).get("health") == "true"
        self._wait("etcd's /health", "etcd", healthy)

    def _start_containerd(self) -> None:
        """containerd on a clone of the cache's seeded root: the images are there already."""
        clone_seed(self.workdir / "containerd" / "root")
        self._launch("containerd", [program("containerd"), "--config",
                                    str(self.workdir / "containerd.toml")])
        ctr = [program("ctr"), "--address", str(self.containerd_socket), "-n", "k8s.io"]

        def serving():
            return subprocess.run([*ctr, "version"], capture_output=True, timeout=10,
                                  check=False).returncode == 0
        self._wait("containerd's socket", "containerd", serving)
        listed = subprocess.run([*ctr, "images", "ls", "-q"], capture_output=True, text=True,
                                timeout=30, check=False).stdout.split()
        lacking = [ref for ref in IMAGES.values() if ref not in listed]
        if lacking:
            msg = (f"containerd's root cloned from {self.workdir / 'containerd' / 'root'} "
                   f"lacks {lacking}: remove ~/.cache/jrk-k8s/containerd-root and run "
                   "python -m testing.k8scluster build")
            raise K8sClusterError(msg)

    def _start_apiserver(self) -> None:
        pki = self.pki
        self._launch("kube-apiserver", [
            str(bin_dir() / "kube-apiserver"),
            f"--advertise-address={self.address}", f"--bind-address={self.address}",
            f"--secure-port={self.ports['apiserver']}",
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
            f"--cert-dir={self.workdir / 'apiserver'}",
            "--allow-privileged=true", "--profiling=false", "--v=1", *self._audit_args()])
        self._wait("the API server's /readyz", "kube-apiserver",
                   lambda: self.api("GET", "/readyz", timeout=3) == "ok")

    def _component_args(self, name: str, port: str) -> list[str]:
        kubeconfig = self.workdir / f"{name}.kubeconfig"
        return [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1",
                f"--secure-port={self.ports[port]}", "--leader-elect=false",
                f"--requestheader-client-ca-file={self.pki / 'front-proxy-ca.crt'}",
                f"--client-ca-file={self.pki / 'ca.crt'}", "--profiling=false", "--v=1"]

    def _start_controllers(self) -> None:
        pki = self.pki
        self._launch("kube-controller-manager", [
            str(bin_dir() / "kube-controller-manager"),
            *self._component_args("controller-manager", "controller_manager"),
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}", "--use-service-account-credentials=true",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--cert-dir={self.workdir / 'controller-manager'}"])
        self._launch("kube-scheduler", [
            str(bin_dir() / "kube-scheduler"), *self._component_args("scheduler", "scheduler"),
            f"--cert-dir={self.workdir / 'scheduler'}"])

    def _start_kubelet(self) -> None:
        self._launch("kubelet", [
            str(bin_dir() / "kubelet"), f"--config={self.workdir / 'kubelet.json'}",
            f"--kubeconfig={self.workdir / 'kubelet.kubeconfig'}",
            f"--root-dir={self.workdir / 'kubelet'}", f"--node-ip={self.address}",
            f"--hostname-override={self.node_name}", "--v=1"])

    def node_ready(self) -> bool:
        node = self.api("GET", f"/api/v1/nodes/{self.node_name}", timeout=3)
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in node.get("status", {}).get("conditions", []))

    def _wait_ready(self) -> None:
        self._wait("the node to be Ready", "kubelet", self.node_ready)
        self._wait("the default ServiceAccount (made by the controller-manager)",
                   "kube-controller-manager",
                   lambda: self.api("GET", "/api/v1/namespaces/default/serviceaccounts/default",
                                    timeout=3))

    def check_alive(self) -> None:
        """Raise naming the first daemon that has exited (with its log's tail)."""
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise self._fail(f"{name} exited with {proc.returncode}", name)

    def _terminate(self, names: list[str], timeout: float = 10.0) -> None:
        """SIGTERM *names* (in that order, each waited for), SIGKILL after *timeout*."""
        for name in names:
            proc = self._procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
