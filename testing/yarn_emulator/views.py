"""The JSON answers of an emulated RM, shaped as Hadoop 3.5's (see ``recorded/``)."""

from __future__ import annotations

from .model import (
    FINAL_STATES,
    FINAL_STATUSES,
    HADOOP_VERSION,
    PUBLIC_STATES,
    HttpError,
    YarnApp,
    now_ms,
)


def _resource(memory: int, vcores: int) -> dict:
    """A resource as the RM's REST API shows one (recorded/app_running.json)."""
    infos = [
        {"maximumAllocation": 9223372036854775807, "minimumAllocation": 0, "name": name,
         "resourceType": "COUNTABLE", "units": units, "value": value}
        for name, units, value in (("memory-mb", "Mi", memory), ("vcores", "", vcores))
    ]
    return {"memory": memory, "vCores": vcores,
            "resourceInformations": {"resourceInformation": infos}}



class ViewsMixin:
    """The answers of :class:`~.rm.YarnRM`."""

    def _cluster_info(self) -> dict:
        return {
            "id": self.cluster_timestamp, "startedOn": self.started_on, "state": "STARTED",
            "haState": self.ha_state, "rmStateStoreName":
                "org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore",
            "resourceManagerVersion": HADOOP_VERSION,
            "resourceManagerBuildVersion": f"{HADOOP_VERSION} from emulator by tests",
            "resourceManagerVersionBuiltOn": "2023-06-18T08:22Z",
            "hadoopVersion": HADOOP_VERSION,
            "hadoopBuildVersion": f"{HADOOP_VERSION} from emulator by tests",
            "hadoopVersionBuiltOn": "2023-06-18T08:22Z",
            "haZooKeeperConnectionState": "Could not find leader elector. Verify both HA "
                                          "and automatic failover are enabled.",
        }

    def _metrics(self) -> dict:
        c = self.cluster
        with c.lock:
            apps = list(c.apps.values())
            running = [a for a in apps if a.public_state == "RUNNING"]
            holding = [a for a in apps if a.am_alive()]
            alloc_mb = sum(a.memory for a in holding)
            alloc_vc = sum(a.vcores for a in holding)
            return {
                "appsSubmitted": c.apps_submitted,
                "appsCompleted": sum(1 for a in apps if a.state in FINAL_STATES),
                "appsPending": sum(1 for a in apps if a.public_state in
                                   ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED")),
                "appsRunning": len(running),
                "appsFailed": sum(1 for a in apps if a.state == "FAILED"),
                "appsKilled": sum(1 for a in apps if a.state == "KILLED"),
                "reservedMB": 0, "availableMB": c.node_memory_mb - alloc_mb,
                "allocatedMB": alloc_mb, "totalMB": c.node_memory_mb,
                "reservedVirtualCores": 0, "availableVirtualCores": c.node_vcores - alloc_vc,
                "allocatedVirtualCores": alloc_vc, "totalVirtualCores": c.node_vcores,
                "containersAllocated": len(holding), "containersReserved": 0,
                "containersPending": sum(1 for a in apps if a.state == "ACCEPTED"
                                         and not a.activated),
                "totalNodes": 1, "activeNodes": 1, "lostNodes": 0, "unhealthyNodes": 0,
                "decommissioningNodes": 0, "decommissionedNodes": 0, "rebootedNodes": 0,
                "shutdownNodes": 0,
                # the rest of Hadoop 3.5's answer (recorded/cluster_metrics.json)
                "pendingMB": 0, "pendingVirtualCores": 0, "utilizedMB": 0,
                "utilizedVirtualCores": 0, "utilizedMBPercent": 0,
                "utilizedVirtualCoresPercent": 0, "rmSchedulerBusyPercent": 0,
                "containerAssignedPerSecond": 0, "rmEventQueueSize": 0,
                "schedulerEventQueueSize": 0, "crossPartitionMetricsAvailable": True,
                "totalUsedResourcesAcrossPartition": _resource(alloc_mb, alloc_vc),
                "totalClusterResourcesAcrossPartition":
                    _resource(c.node_memory_mb, c.node_vcores),
                "totalReservedResourcesAcrossPartition": _resource(0, 0),
                "totalAllocatedContainersAcrossPartition": len(holding),
            }

    def _scheduler(self) -> dict:
        c = self.cluster
        share = round(100.0 / len(c.queues), 4)
        queues = []
        total_used = 0.0
        with c.lock:
            for name, limit in c.queues.items():
                apps = [a for a in c.apps.values() if a.queue == name
                        and a.state not in FINAL_STATES]
                active = [a for a in apps if a.activated]
                pending = [a for a in apps if not a.activated]
                mem = sum(a.memory for a in active)
                vcores = sum(a.vcores for a in active)
                queue_mb = c.node_memory_mb * share / 100.0
                used = round(100.0 * mem / queue_mb, 4) if queue_mb else 0.0
                total_used += mem
                queues.append({
                    "type": "capacitySchedulerLeafQueueInfo", "queueName": name,
                    "queuePath": f"root.{name}", "state": "RUNNING",
                    "capacity": share, "maxCapacity": 100.0, "usedCapacity": used,
                    "absoluteCapacity": share, "absoluteMaxCapacity": 100.0,
                    "absoluteUsedCapacity": round(100.0 * mem / c.node_memory_mb, 4),
                    "numApplications": len(apps), "numActiveApplications": len(active),
                    "numPendingApplications": len(pending), "numContainers": len(active),
                    "maxApplications": 10000, "maxApplicationsPerUser": 10000,
                    "maxActiveApplications": limit if limit is not None else 10000,
                    "maxActiveApplicationsPerUser": limit if limit is not None else 10000,
                    "userLimit": 100, "userLimitFactor": 1.0,
                    "usedResources": f"<memory:{mem}, vCores:{vcores}>",
                    "resourcesUsed": {"memory": mem, "vCores": vcores},
                })
        return {
            "type": "capacityScheduler", "capacity": 100.0, "maxCapacity": 100.0,
            "usedCapacity": round(100.0 * total_used / c.node_memory_mb, 4),
            "queueName": "root", "queues": {"queue": queues},
        }

    def _node(self) -> dict:
        c = self.cluster
        m = self._metrics()
        # Hadoop 3.5's node (recorded/cluster_nodes.json: no healthStatus any more)
        return {
            "rack": "/default-rack", "state": "RUNNING", "id": f"{c.nm_host}:{c.nm_port}",
            "nodeHostName": c.nm_host, "nodeHTTPAddress": f"{c.nm_host}:{c.nm_http_port}",
            "lastHealthUpdate": now_ms(), "version": HADOOP_VERSION, "healthReport": "",
            "numContainers": m["containersAllocated"],
            "usedMemoryMB": m["allocatedMB"], "availMemoryMB": m["availableMB"],
            "usedVirtualCores": m["allocatedVirtualCores"],
            "availableVirtualCores": m["availableVirtualCores"],
            "memUtilization": 0.0, "cpuUtilization": 0.0,
            "numRunningOpportContainers": 0, "usedMemoryOpportGB": 0,
            "usedVirtualCoresOpport": 0, "numQueuedContainers": 0, "allocationTags": {},
            "resourceUtilization": {
                "nodePhysicalMemoryMB": 0, "nodeVirtualMemoryMB": 0, "nodeCPUUsage": 0.0,
                "aggregatedContainersPhysicalMemoryMB": 0,
                "aggregatedContainersVirtualMemoryMB": 0, "containersCPUUsage": 0.0,
            },
            "usedResource": _resource(m["allocatedMB"], m["allocatedVirtualCores"]),
            "availableResource": _resource(m["availableMB"], m["availableVirtualCores"]),
            "nodeAttributesInfo": {},
            "totalResource": _resource(c.node_memory_mb, c.node_vcores),
        }

    def _app_info(self, app: YarnApp) -> dict:
        c = self.cluster
        with c.lock:
            state = app.public_state
            att = app.current_attempt
            final = app.state in FINAL_STATES
            alive = app.am_alive()
            now = now_ms()
            node_http = f"{c.nm_host}:{c.nm_http_port}"
            info = {
                # Hadoop 3.5 names the queue by its path (recorded/app_running.json).
                "id": app.app_id, "user": app.user, "name": app.name,
                "queue": f"root.{app.queue}",
                "state": state, "finalStatus": app.final_status,
                "progress": 100.0 if final else (10.0 if state == "RUNNING" else 0.0),
                "trackingUI": "History" if final else
                ("ApplicationMaster" if state == "RUNNING" else "UNASSIGNED"),
                "trackingUrl": f"{self.url}/proxy/{app.app_id}/" if state == "RUNNING"
                else f"{self.url}/cluster/app/{app.app_id}",
                "diagnostics": app.diagnostics, "clusterId": self.cluster_timestamp,
                "applicationType": app.app_type,
                "applicationTags": ",".join(sorted(app.tags)),
                "priority": app.priority,
                "startedTime": app.started_time, "launchTime": app.launch_time,
                "finishedTime": app.finished_time,
                "elapsedTime": (app.finished_time or now) - app.started_time,
                "amContainerLogs": (f"http://{node_http}/node/containerlogs/"
                                    f"{att.container_id}/{app.user}") if att else "",
                "amHostHttpAddress": node_http if att else "",
                "amRPCAddress": f"{c.nm_host}:0" if att and att.registered else "N/A:-1",
                "masterNodeId": f"{c.nm_host}:{c.nm_port}" if att else "",
                "allocatedMB": -1 if final else (app.memory if alive else 0),
                "allocatedVCores": -1 if final else (app.vcores if alive else 0),
                "runningContainers": -1 if final else (1 if alive else 0),
                "memorySeconds": 0, "vcoreSeconds": 0,
                "queueUsagePercentage": 0.0, "clusterUsagePercentage": 0.0,
                "preemptedResourceMB": 0, "preemptedResourceVCores": 0,
                "preemptedMemorySeconds": 0, "preemptedVcoreSeconds": 0,
                "reservedMB": 0, "reservedVCores": 0,
                "resourceInfo": {"resourceUsagesByPartition": [{
                    "partitionName": "",
                    "used": _resource(app.memory if alive else 0, app.vcores if alive else 0),
                    "reserved": _resource(0, 0),
                    "pending": _resource(0, 0),
                    "amUsed": _resource(app.memory if alive else 0, app.vcores if alive else 0),
                    "amLimit": _resource(0, 0),
                    "userAmLimit": _resource(0, 0),
                }]},
                "resourceSecondsMap": {"entry": [{"key": "memory-mb", "value": 0},
                                                 {"key": "vcores", "value": 0}]},
                "timeouts": {"timeout": [{"type": "LIFETIME", "expiryTime": "UNLIMITED",
                                          "remainingTimeInSeconds": -1}]},
                "numNonAMContainerPreempted": 0, "numAMContainerPreempted": 0,
                "logAggregationStatus": "DISABLED", "unmanagedApplication": False,
                "amNodeLabelExpression": "",
            }
            # Keys a real RM (3.5) leaves out, as recorded/: no AM address or tracking URL
            # before the AM registered; no AM container before one is allocated (then the
            # AM's resource request instead); a killed app keeps neither its AM RPC address
            # nor its resource usage.
            registered = bool(att and att.registered)
            if not registered or state in ("KILLED", "FAILED"):
                del info["amRPCAddress"]
            if not registered and not final:
                del info["trackingUrl"]
            if att is None:
                del info["amContainerLogs"], info["amHostHttpAddress"]
                if not final:
                    info["resourceRequests"] = [{
                        "priority": 0, "allocationRequestId": -1, "resourceName": "*",
                        "capability": _resource(app.memory, app.vcores), "numContainers": 1,
                        "relaxLocality": True, "nodeLabelExpression": "",
                        "executionTypeRequest": {"executionType": "GUARANTEED",
                                                 "enforceExecutionType": False},
                    }]
            if state in ("KILLED", "FAILED"):
                del info["resourceInfo"]
            if app.app_type != "SPARK":
                # A real RM shows appNodeLabelExpression ("") for an application submitted
                # over REST (recorded/app_failed_unregistered), not for spark-submit's RPC
                # submissions (the other recorded answers). EMULATOR: every submission here
                # is REST; those of type SPARK stand in for spark-submit's.
                info["appNodeLabelExpression"] = ""
        return info

    def _attempts(self, app: YarnApp) -> list:
        c = self.cluster
        node_http = f"{c.nm_host}:{c.nm_http_port}"
        with c.lock:
            attempts = []
            for a in app.attempts:
                one = {
                    "id": a.number, "startTime": a.start_time, "finishedTime": a.finished_time,
                    "containerId": a.container_id, "nodeHttpAddress": node_http,
                    "nodeId": f"{c.nm_host}:{c.nm_port}",
                    "logsLink": (f"http://{node_http}/node/containerlogs/{a.container_id}/"
                                 f"{app.user}"),
                    "blacklistedNodes": "", "nodesBlacklistedBySystem": "",
                    "appAttemptId": a.attempt_id, "exportPorts": "null",
                    "appAttemptState": a.state,
                }
                # (no diagnosticsInfo: Hadoop 3.5 shows none, even for a FAILED attempt,
                # recorded/app_attempts_failed.json)
                attempts.append(one)
            return attempts

    def _list_apps(self, query: dict) -> dict:
        def one(name):
            vals = query.get(name)
            return vals[0] if vals and vals[0] != "" else None

        def csv(name):
            out = []
            for v in query.get(name, []):
                out.extend(x.strip() for x in v.split(",") if x.strip())
            return out

        states = {s.upper() for s in csv("states")}
        if one("state"):
            states.add(one("state").upper())
        bad = states - set(PUBLIC_STATES)
        if bad:
            raise HttpError(400, f"java.lang.IllegalArgumentException: Invalid application-"
                                 f"state {sorted(bad)[0]} specified. It should be one of "
                                 f"{', '.join(PUBLIC_STATES)}")
        final_status = one("finalStatus")
        if final_status and final_status not in FINAL_STATUSES:
            raise HttpError(400, f"java.lang.IllegalArgumentException: No enum constant "
                                 f"org.apache.hadoop.yarn.api.records.FinalApplicationStatus."
                                 f"{final_status}")

        def num(name, default):
            v = one(name)
            if v is None:
                return default
            try:
                n = int(v)
            except ValueError:
                raise HttpError(400, f"java.lang.NumberFormatException: For input string: "
                                     f"\"{v}\"") from None
            if n < 0:
                raise HttpError(400, f"java.lang.Exception: {name} must be greater than 0")
            return n

        limit = num("limit", None)
        if limit is not None and limit <= 0:
            raise HttpError(400, "java.lang.Exception: limit value must be greater then 0")
        s_begin, s_end = num("startedTimeBegin", 0), num("startedTimeEnd", None)
        f_begin, f_end = num("finishedTimeBegin", 0), num("finishedTimeEnd", None)
        if s_end is not None and s_begin > s_end:
            raise HttpError(400, "java.lang.Exception: startedTimeEnd must be greater than "
                                 "startTimeBegin")
        if f_end is not None and f_begin > f_end:
            raise HttpError(400, "java.lang.Exception: finishTimeEnd must be greater than "
                                 "finishTimeBegin")
        types = {t.lower() for t in csv("applicationTypes")}
        tags = {t.lower() for t in csv("applicationTags")}
        user, queue, name = one("user"), one("queue"), one("name")
        with self.cluster.lock:
            apps = list(self.cluster.apps.values())
            order = self.cluster.app_order
            if order == "random":
                self.cluster.rng.shuffle(apps)
            elif order == "reverse":
                apps.reverse()
            out = []
            for a in apps:
                if states and a.public_state not in states:
                    continue
                if final_status and a.final_status != final_status:
                    continue
                if user and a.user != user:
                    continue
                if queue and queue not in (a.queue, f"root.{a.queue}"):
                    continue
                if name and a.name != name:
                    continue
                if types and a.app_type.lower() not in types:
                    continue
                if tags and not tags.intersection(a.tags):
                    continue
                if a.started_time < s_begin or (s_end is not None and a.started_time > s_end):
                    continue
                if (f_begin and a.finished_time < f_begin) or \
                        (f_end is not None and a.finished_time > f_end):
                    continue
                out.append(a)
                if limit is not None and len(out) >= limit:
                    break
        if not out:
            return {}  # Hadoop 3.5: {"apps": {}} when nothing matches (recorded/apps_none)
        return {"app": [self._app_info(a) for a in out]}
