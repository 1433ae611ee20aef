"""The configurations of the Kubernetes benchmark (:mod:`benchmarks.k8s`): one
:class:`Config` per server, its kernelspecs, its measurement steps and what it left."""

from __future__ import annotations

import concurrent.futures as cf
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

from testing.k8scluster import K8sTestCluster
from testing.k8scluster.gpimage import GP_IMAGE, build_gp_image, gp_dir, import_image
from testing.k8sspecs import k8s_spec
from testing.specs import REMOTE_PYTHON

from .outcome import StepsMixin
from .pools import pooled_ids
from .server import REPO, Server

__all__ = ["CONFIGS", "GP_CLIENT_DIR", "GP_CLIENT_INSTALL", "OPTIONAL", "Config",
           "make_config"]

CONFIGS = ("plain", "ours-k8s", "gp-k8s")
OPTIONAL = ("gp-k8s",)
#: GP's KubernetesProvisioner imports the synchronous ``kubernetes`` client (not a dependency
#: of this project): installed into a folder of its own, put on the GP server's path only.
GP_CLIENT_DIR = Path(os.environ.get("JRK_GP_K8S_CLIENT", Path.home() / ".cache" / "jrk-gp-k8s"))
GP_CLIENT_INSTALL = ("pip install --no-deps --target ~/.cache/jrk-gp-k8s kubernetes "
                     "durationpy oauthlib requests-oauthlib google-auth")
PLAIN = {"argv": [REMOTE_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "plain", "language": "python"}
POOL_SIZE = 2


def ours_spec(cluster: K8sTestCluster, kubeconfig: Path, pool_size: int = 0) -> dict:
    """Our Kubernetes kernelspec for the run's cluster (the plain Python image)."""
    return k8s_spec(cluster, kubeconfig, pool_size=pool_size, display_name="ours-k8s")


class Config(StepsMixin):
    """One configuration's server and kernels for the whole run."""

    log_prefix = "k8s-"

    def __init__(self, name: str, cluster: K8sTestCluster, tmp: Path, options) -> None:
        self.name, self.cluster, self.options = name, cluster, options
        self.result: dict = {}
        self.samples: dict[str, list[float]] = {}
        self.kernels: list[str] = []
        self.user = f"jrk-bench-{name}"
        self.namespace = "default"
        self.pool_server: Server | None = None
        workdir = tmp / name
        workdir.mkdir()
        kubeconfig = cluster.client_kubeconfig(self.user)
        if name == "plain":
            self.spec = "plain"
            self.server = Server(workdir, REMOTE_PYTHON, {"plain": PLAIN}, {})
        elif name == "ours-k8s":
            # The pool on a server of its own (same user), stopped before the burst and the
            # idle windows, which count one server's kernels.
            self.spec = "ours-k8s"
            self.server = Server(workdir, sys.executable,
                                 {"ours-k8s": ours_spec(cluster, kubeconfig)},
                                 {"jupyter_remote_kernels": True})
            (workdir / "pool").mkdir()
            self.pool_server = Server(
                workdir / "pool", sys.executable,
                {"ours-k8s-pool": ours_spec(cluster, kubeconfig, POOL_SIZE)},
                {"jupyter_remote_kernels": True},
                args=["--RemoteMappingKernelManager.pool_check_interval=1"])
        else:
            self.spec = "gp-k8s"
            self.server = gp_server(cluster, workdir, kubeconfig, options.gp_client)

    # -- steps ---------------------------------------------------------------------------------
    def sample(self, key: str, value: float) -> None:
        self.samples.setdefault(key, []).append(value)

    def cold_start(self) -> None:
        kernel_id, took = self.server.start(self.spec, timeout=300)
        self.sample("start_s", took)
        self.sample("delete_s", self.server.delete(kernel_id))

    def pooled_start(self) -> None:
        if self.pool_server is None:
            return
        wait_pool_full(self.pool_server, "ours-k8s-pool", timeout=300)
        pooled = pooled_ids(self.pool_server, "ours-k8s-pool")
        kernel_id, took = self.pool_server.start("ours-k8s-pool", timeout=300)
        if kernel_id not in pooled:
            msg = f"kernel {kernel_id} was not served from the pool ({sorted(pooled)})"
            raise RuntimeError(msg)
        self.sample("pool_start_s", took)
        self.pool_server.delete(kernel_id)

    def stop_pool(self) -> None:
        if self.pool_server is not None:
            self.pool_server.stop()
            self.pool_server = None
            self.left("stop_pods_left_5s")

    def burst(self, n: int) -> None:
        """n concurrent starts: the wall time and the longest event-loop lag meanwhile."""
        self.stop_pool()  # the burst and the windows count one server's kernels
        self.server.lag(reset=True)
        t = time.monotonic()
        with cf.ThreadPoolExecutor(n) as pool:
            ids = [k for k, _ in pool.map(lambda _: self.server.start(self.spec, 300), range(n))]
        self.result["burst_s"] = round(time.monotonic() - t, 2)
        self.result["burst_lag_ms"] = round(self.server.lag())
        self.server.delete_all(ids)
        self.left("delete_pods_left_5s")

    def idle_rates(self, idle: int, window: float) -> None:
        """API requests per second of this server while 1 and while *idle* kernels idle."""
        self.kernels.append(self.server.start(self.spec, 300)[0])
        self.result["api_req_s_1"] = self.rate(window)
        with cf.ThreadPoolExecutor(5) as pool:
            self.kernels += [k for k, _ in pool.map(
                lambda _: self.server.start(self.spec, 600), range(idle - 1))]
        self.result[f"api_req_s_{idle}"] = self.rate(window)
        self.server.delete_all(self.kernels)
        self.kernels.clear()
        self.left("delete_pods_left_5s")

    def rate(self, window: float) -> float:
        time.sleep(min(5.0, window / 4))  # settle after the starts
        t0 = time.time()
        time.sleep(window)
        return round(self.cluster.request_rate(self.user, t0, t0 + window), 2)

    # -- what is left --------------------------------------------------------------------------
    def pods(self) -> list[str]:
        """Kernel pods of this configuration's server (any but the harness's)."""
        items = self.cluster.api("GET", "/api/v1/pods").get("items", [])
        return [f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in items]

    def left(self, key: str) -> None:
        if self.name == "plain":
            return
        deadline = time.monotonic() + 5
        while (pods := self.pods()) and time.monotonic() < deadline:
            time.sleep(0.5)
        if pods:
            self.result[key] = self.result.get(key, 0) + len(pods)
            self.cluster.delete_all_pods()

    def close(self) -> None:
        self.stop_pool()
        self.server.stop()
        self.left("stop_pods_left_5s")

    def summary(self) -> dict:
        if "failed" in self.result:
            return self.result
        for key, values in self.samples.items():
            self.result[key] = round(statistics.median(values), 3)
            self.result[key[:-2] + "_all_s"] = [round(v, 3) for v in values]
        return self.result


def wait_pool_full(server: Server, kernel_name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(f"{server.url}/api/remote-kernels/pools", headers=server.headers,
                         timeout=30)
        r.raise_for_status()
        pool = next((p for p in r.json() if p["kernel_name"] == kernel_name), None)
        if pool and pool["ready"] >= pool["target"] and not pool.get("launching"):
            return
        time.sleep(0.5)
    msg = f"the pool of {kernel_name} did not fill in {timeout:g} s"
    raise TimeoutError(msg)


def gp_server(cluster: K8sTestCluster, workdir: Path, kubeconfig: Path, client: Path) -> Server:
    """GP's server and kernelspec (its own installer); FileNotFoundError saying what to install
    when GP or its kubernetes client is missing."""
    gp = gp_dir()
    path = f"{gp}{os.pathsep}{client}"
    probe = subprocess.run([sys.executable, "-c", "import gateway_provisioners.k8s"],
                           env={**os.environ, "PYTHONPATH": path, "GP_USE_INCLUSTER_CONFIG":
                                "False", "KUBECONFIG": str(kubeconfig)},
                           capture_output=True, text=True, timeout=120, check=False)
    if probe.returncode:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        msg = f"GP's KubernetesProvisioner cannot be imported from {path} ({last}): " \
              f"{GP_CLIENT_INSTALL}"
        raise FileNotFoundError(msg)
    import_image(cluster, build_gp_image(gp))
    data = workdir / "gpdata"
    env = {**os.environ, "PYTHONPATH": path}
    made = subprocess.run(
        [sys.executable, str(gp / "bin" / "jupyter-k8s-spec"), "install", "--kernel-name",
         "gp-k8s", "--prefix", str(data), "--image-name", GP_IMAGE, "--launch-timeout", "300"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    if made.returncode:
        msg = f"jupyter-k8s-spec install failed: {(made.stderr or made.stdout)[-400:]}"
        raise RuntimeError(msg)
    # Our extension is installed in this Python: off for GP's server.
    return Server(workdir, sys.executable, {},
                  {"benchmarks.gp_env": True, "jupyter_remote_kernels": False},
                  data=data / "share" / "jupyter",
                  prefix=["env", f"PYTHONPATH={REPO}{os.pathsep}{path}"],
                  env={"GP_USE_INCLUSTER_CONFIG": "False", "KUBECONFIG": str(kubeconfig),
                       "GP_RESPONSE_IP": cluster.address, "GP_NAMESPACE": "default",
                       "GP_UNAUTHORIZED_USERS": "nobody"})


def make_config(name: str, cluster, tmp: Path, options, results: dict) -> Config | None:
    """The configuration, or None with the reason in *results* (skipped for the optional
    peer that is not installed, failed otherwise)."""
    try:
        return Config(name, cluster, tmp, options)
    except FileNotFoundError as exc:
        key = "skipped" if name in OPTIONAL else "failed"
        results[name] = {key: str(exc)[:400]}
    except Exception as exc:
        results[name] = {"failed": f"{type(exc).__name__}: {exc}"[:400]}
    return None
