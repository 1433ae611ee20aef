"""The Hadoop configuration files of the real YARN test cluster: yarn-site, core-site,
log4j and the CapacityScheduler's queues, for the clients, the RM and each NodeManager."""

from __future__ import annotations

from xml.sax.saxutils import escape

from testing.sshbed import TestHost

NM_PORTS = {"address": 8041, "localizer": 8040, "webapp": 8042}


def xml(props: dict) -> str:
    body = "".join(
        f"  <property><name>{escape(str(k))}</name><value>{escape(str(v))}</value></property>\n"
        for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


LOG4J = """\
log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.out
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
log4j.logger.org.apache.hadoop.conf.Configuration.deprecation=WARN
"""


class ConfigMixin:
    """Configuration writing of :class:`~.cluster.YarnTestCluster`."""

    def _write_confs(self, hosts: list[TestHost]) -> None:
        conf = self.workdir / "conf"
        rm_addr = {
            "yarn.resourcemanager.hostname": self.rm_host,
            "yarn.resourcemanager.address": f"{self.rm_host}:{self.ports['rpc']}",
            "yarn.resourcemanager.scheduler.address": f"{self.rm_host}:{self.ports['scheduler']}",
            "yarn.resourcemanager.resource-tracker.address":
                f"{self.rm_host}:{self.ports['tracker']}",
            "yarn.resourcemanager.admin.address": f"{self.rm_host}:{self.ports['admin']}",
            "yarn.resourcemanager.webapp.address": f"{self.rm_host}:{self.ports['webapp']}",
            # clients and NMs retry a missing RM every second, not every 30 s
            "yarn.resourcemanager.connect.retry-interval.ms": 1000,
            "yarn.resourcemanager.connect.max-wait.ms": 120000,
            "yarn.http.policy": "HTTP_ONLY",
        }
        common = {
            **rm_addr,
            "yarn.scheduler.minimum-allocation-mb": 128,
            "yarn.scheduler.maximum-allocation-mb": self.nm_memory_mb,
            "yarn.scheduler.maximum-allocation-vcores": self.nm_vcores,
            "yarn.resourcemanager.scheduler.class":
                "org.apache.hadoop.yarn.server.resourcemanager.scheduler.capacity."
                "CapacityScheduler",
            "yarn.resourcemanager.recovery.enabled": "false",
            "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms": 500,
            # a NodeManager that stops heartbeating is LOST after 20 s (default 10 min)
            "yarn.nm.liveness-monitor.expiry-interval-ms": 20000,
            "yarn.resourcemanager.nm-container-queuing.enable": "false",
            "yarn.log-aggregation-enable": "false",
            "yarn.timeline-service.enabled": "false",
            "yarn.acl.enable": "false",
        }
        core = {"fs.defaultFS": "file:///",
                "hadoop.tmp.dir": str(self.workdir / "hadoop-tmp"),
                "hadoop.security.authentication": "simple"}
        client = conf / "client"
        client.mkdir(parents=True, exist_ok=True)
        (client / "yarn-site.xml").write_text(xml(common))
        (client / "core-site.xml").write_text(xml(core))
        (client / "log4j.properties").write_text(LOG4J)
        rm = conf / "rm"
        rm.mkdir(parents=True, exist_ok=True)
        (rm / "yarn-site.xml").write_text(xml(common))
        (rm / "core-site.xml").write_text(xml(
            {**core, "hadoop.tmp.dir": str(self.workdir / "rm" / "tmp"),
             **getattr(self, "rm_core_site", {})}))
        (rm / "capacity-scheduler.xml").write_text(xml(self.capacity_scheduler()))
        (rm / "log4j.properties").write_text(LOG4J)
        for h in hosts:
            d = self.nm_dir(h)
            (d / "conf").mkdir(parents=True, exist_ok=True)
            (d / "local").mkdir(exist_ok=True)
            (d / "userlogs").mkdir(exist_ok=True)
            nm = {
                **common,
                # The NM binds the host's address; its NodeId is that address's canonical
                # name (jrk-hostN, from the bed's hosts file), whatever is configured.
                "yarn.nodemanager.hostname": h.address,
                "yarn.nodemanager.address": f"{h.address}:{NM_PORTS['address']}",
                "yarn.nodemanager.localizer.address": f"{h.address}:{NM_PORTS['localizer']}",
                "yarn.nodemanager.webapp.address": f"{h.address}:{NM_PORTS['webapp']}",
                "yarn.nodemanager.local-dirs": str(d / "local"),
                "yarn.nodemanager.log-dirs": str(d / "userlogs"),
                "yarn.nodemanager.resource.memory-mb": self.nm_memory_mb,
                "yarn.nodemanager.resource.cpu-vcores": self.nm_vcores,
                "yarn.nodemanager.resource.detect-hardware-capabilities": "false",
                "yarn.nodemanager.container-executor.class":
                    "org.apache.hadoop.yarn.server.nodemanager.DefaultContainerExecutor",
                "yarn.nodemanager.vmem-check-enabled": "false",
                "yarn.nodemanager.pmem-check-enabled": "false",
                "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage":
                    "99.9",
                "yarn.nodemanager.disk-health-checker.min-free-space-per-disk-mb": 0,
                "yarn.nodemanager.recovery.enabled": "false",
                "yarn.nodemanager.aux-services": "",
                # keep container dirs (launch_container.sh) 10 min for inspection
                "yarn.nodemanager.delete.debug-delay-sec": 600,
                "yarn.nodemanager.sleep-delay-before-sigkill.ms": 250,
                "yarn.nodemanager.process-kill-wait.ms": 2000,
            }
            (d / "conf" / "yarn-site.xml").write_text(xml(nm))
            (d / "conf" / "core-site.xml").write_text(xml(
                {**core, "hadoop.tmp.dir": str(d / "tmp")}))
            (d / "conf" / "log4j.properties").write_text(LOG4J)
        (self.workdir / "staging").mkdir(exist_ok=True)
        (self.workdir / "rm").mkdir(exist_ok=True)

    @staticmethod
    def capacity_scheduler() -> dict:
        """Queues ``default``, ``small`` and ``one``. ``small``'s AM resource limit (1 % of
        its share) admits exactly one application: the CapacityScheduler always activates a
        queue's first application even above the limit, and keeps later ones ACCEPTED with
        "Queue's AM resource limit exceeded" until it ends. ``one`` holds at most one
        application (maximum-applications): the RM refuses a second one outright ("Queue
        root.one already has 1 applications, cannot accept submission ...")."""
        q = "yarn.scheduler.capacity.root"
        return {
            "yarn.scheduler.capacity.maximum-applications": 10000,
            "yarn.scheduler.capacity.maximum-am-resource-percent": 0.8,
            "yarn.scheduler.capacity.node-locality-delay": -1,
            "yarn.scheduler.capacity.resource-calculator":
                "org.apache.hadoop.yarn.util.resource.DefaultResourceCalculator",
            f"{q}.queues": "default,small,one",
            f"{q}.default.capacity": 85,
            f"{q}.default.maximum-capacity": 100,
            f"{q}.default.user-limit-factor": 10,
            f"{q}.default.maximum-am-resource-percent": 0.8,
            f"{q}.default.state": "RUNNING",
            f"{q}.small.capacity": 10,
            f"{q}.small.maximum-capacity": 40,
            f"{q}.small.user-limit-factor": 10,
            f"{q}.small.maximum-am-resource-percent": 0.01,
            f"{q}.small.state": "RUNNING",
            f"{q}.one.capacity": 5,
            f"{q}.one.maximum-capacity": 40,
            f"{q}.one.user-limit-factor": 20,
            f"{q}.one.maximum-applications": 1,
            f"{q}.one.maximum-am-resource-percent": 0.8,
            f"{q}.one.state": "RUNNING",
        }
