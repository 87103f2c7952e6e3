// deploy/: the Kubernetes manifest against Kubernetes' own schema (npm kubernetes-models), and the image, built with
// no registry from the single binary, run under a real container runtime (podman with runc) with the DaemonSet's own
// command, securityContext, hostPID and mounts, configuring the connections of a cgroup of the test's own.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { ConfigMap, Namespace } from "kubernetes-models/v1";
import { PriorityClass } from "kubernetes-models/scheduling.k8s.io/v1";
import { inspectCgroup, parseAgentConfig, VERSION } from "../mod.ts";
import { firstLine, holdingServer, pythonClient, testCgroup, valuesTo } from "./_cgroup.ts";
import { testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MANIFEST = readFileSync(`${ROOT}deploy/kubernetes.yaml`, "utf8");
// deno-lint-ignore no-explicit-any
type Manifest = any;
const objects: Manifest[] = parseAllDocuments(MANIFEST).map((document) => document.toJS());
const byKind = (kind: string) => objects.find((object) => object.kind === kind);
const daemonSet = byKind("DaemonSet");
const container = daemonSet.spec.template.spec.containers[0];

testUnder("deno", "deploy/kubernetes.yaml passes Kubernetes' schema, and runs the agent, not npx", () => {
  const models: Record<string, new (object: Manifest) => { validate(): void }> = {
    Namespace,
    PriorityClass,
    ConfigMap,
    DaemonSet,
  };
  deepEqual(objects.map(({ kind }) => kind), ["Namespace", "PriorityClass", "ConfigMap", "DaemonSet"]);
  for (const object of objects) new models[object.kind]!(object).validate();
  ok(!/\bnpx\b/.test(MANIFEST), "no npx anywhere");
  equal(byKind("Namespace").metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
  equal(daemonSet.spec.template.spec.priorityClassName, byKind("PriorityClass").metadata.name);
  equal(container.image, `localhost/tcp-keepalive:${VERSION}`, "the image deploy/image.sh builds of this version");
  deepEqual(container.command.slice(0, 2), ["/usr/local/bin/keepalive", "agent"]);
  deepEqual(container.readinessProbe.httpGet, { path: "/readyz", port: "metrics" });
  deepEqual(container.ports, [{ name: "metrics", containerPort: 9977 }]);
  ok(daemonSet.spec.template.spec.hostPID, "hostPID: the pods' processes' network namespaces");
  const config = parseAgentConfig(byKind("ConfigMap").data["agent.json"], "the ConfigMap's agent.json");
  ok(config.policies.length > 0);
  // The requests are what the bench measured the agent at: docs/cost.md says them.
  match(readFileSync(`${ROOT}docs/cost.md`, "utf8"), new RegExp(container.resources.requests.memory));
});

/** podman as this host needs it: runc (crun refuses its hybrid cgroup layout), and cgroupfs. */
const PODMAN = ["podman", "--runtime", "/usr/sbin/runc", "--cgroup-manager=cgroupfs"];

testUnder(
  "deno",
  "the image, built from the binary with no registry, runs the DaemonSet's command under podman and runc, and sets a pod's connections",
  async () => {
    execFileSync("npm", ["run", "--silent", "build:binary"], { cwd: ROOT, stdio: "ignore" });
    const tag = execFileSync("bash", [`${ROOT}deploy/image.sh`, `localhost/tcp-keepalive-test:${process.pid}`], {
      env: { ...process.env, PODMAN: PODMAN.join(" ") },
      encoding: "utf8",
    }).trim();
    // The node's cgroup hierarchy, which the DaemonSet mounts at /host/cgroup, is a cgroup of the test's own here:
    // the ConfigMap's policy (kubepods.slice) then holds for a pod cgroup made below it.
    await using node = testCgroup(`tcp-keepalive-${process.pid}-node`);
    const pod = `${node.path}/kubepods.slice/kubepods-besteffort.slice/pod-a`;
    mkdirSync(pod, { recursive: true });
    const server = await holdingServer();
    using before = pythonClient(pod, server.port);
    await firstLine(before);
    const configDir = mkdtempSync("/tmp/tcp-keepalive-configmap-");
    writeFileSync(`${configDir}/agent.json`, byKind("ConfigMap").data["agent.json"]);
    const mounts = Object.fromEntries(
      container.volumeMounts.map((mount: Manifest) => [mount.name, mount.mountPath]),
    );
    const name = `tcp-keepalive-test-${process.pid}`;
    const command = container.command.map((arg: string) => arg === "$(POD_NAME)" ? name : arg);
    const run = spawnSync(PODMAN[0]!, [
      ...PODMAN.slice(1),
      "run",
      "--detach",
      "--name",
      name,
      "--ulimit",
      "nofile=1024:20000",
      "--ulimit",
      "nproc=1024:4096",
      ...(container.securityContext.privileged ? ["--privileged"] : []),
      ...(daemonSet.spec.template.spec.hostPID ? ["--pid=host"] : []),
      // The pod's own network namespace is the host's here, so that the test reaches its port.
      "--network=host",
      "--volume",
      `${node.path}:${mounts.cgroup}`,
      "--volume",
      `${configDir}:${mounts.config}:ro`,
      "--entrypoint",
      command[0],
      tag,
      ...command.slice(1),
    ], { encoding: "utf8" });
    equal(run.status, 0, run.stderr);
    try {
      const port = container.ports[0].containerPort;
      let ready = 0;
      for (const started = performance.now(); performance.now() - started < 10_000 && ready !== 200;) {
        ready = await fetch(`http://127.0.0.1:${port}${container.readinessProbe.httpGet.path}`)
          .then((response) => response.status, () => 0);
        if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      equal(ready, 200, execFileSync(PODMAN[0]!, [...PODMAN.slice(1), "logs", name], { encoding: "utf8" }));
      // The ConfigMap's policy: 30 s, planned, with enforce; the connection there before, and one made now.
      const policy = { SO_KEEPALIVE: 1, TCP_KEEPIDLE: 10, TCP_KEEPINTVL: 2, TCP_KEEPCNT: 10, TCP_USER_TIMEOUT: 30_000 };
      deepEqual(valuesTo(before, server.port), policy);
      using after = pythonClient(pod, server.port);
      await firstLine(after);
      deepEqual(valuesTo(after, server.port), policy);
      const programs = () =>
        inspectCgroup(`${node.path}/kubepods.slice`).programs.filter((program) => program.kind)
          .map(({ kind, owner }) => [kind, owner]);
      deepEqual(programs(), [["sock_ops", name], ["setsockopt", name]]);
      // podman stop sends SIGTERM: the agent takes its programs off and exits 0.
      execFileSync(PODMAN[0]!, [...PODMAN.slice(1), "stop", "--time", "5", name], { stdio: "ignore" });
      equal(
        execFileSync(PODMAN[0]!, [...PODMAN.slice(1), "inspect", name, "--format", "{{.State.ExitCode}}"], {
          encoding: "utf8",
        }).trim(),
        "0",
      );
      deepEqual(programs(), []);
    } finally {
      spawnSync(PODMAN[0]!, [...PODMAN.slice(1), "rm", "--force", name]);
      spawnSync(PODMAN[0]!, [...PODMAN.slice(1), "rmi", "--force", tag]);
      server.close();
    }
  },
  120_000,
);
