/**
 * A node agent: every cgroup of the host that a policy matches holds that
 * policy's programs, kept true. A pass walks the cgroup v2 tree, checks
 * each matched cgroup's programs as the kernel holds them, and attaches them
 * where they are missing (with the sockets already there set, through the
 * TCP iterator), putting back any someone took off; under `enforce`, a pass
 * puts back to the policy the sockets that hold something else. The caller
 * watches the directories a pass walked, to pass again when a cgroup is made
 * or removed. What the host's connections hold is read in one pass over its
 * network namespaces, for the metrics. The kernel is the record: nothing is remembered that a read of it
 * would not say, but which cgroups this agent attached to, to say it put a
 * program back.
 *
 * @module
 */
import {
  applyToCgroup,
  clearCgroup,
  correctCgroups,
  type HeldProgram,
  heldProgramsAt,
  scanHostAt,
  walkCgroups,
} from "../cgroup/mod.ts";
import { planWrites, type Write } from "../options/mod.ts";
import type { Platform, SocketOption } from "../platforms/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";
import type { AgentConfig, AgentPolicy } from "./_config.ts";
import { policiesFor } from "./_match.ts";
import {
  type AgentCounters,
  agentCounters,
  exposition,
  type MetricsState,
  type Observation,
  ObservationCounter,
  observe,
} from "./_metrics.ts";

/** How the agent runs. */
export interface AgentSettings {
  /** Whose programs it attaches and takes off: a Kubernetes pod's name, or the host's. */
  readonly owner: string;
  /** Where the cgroup v2 hierarchy the policies' paths are below is mounted (`/host/cgroup` in a pod). */
  readonly root: string;
  /** How long an idle dead peer may go unseen before a connection counts as over, in the metrics; milliseconds. */
  readonly overMs: number;
  /** This module's version, in the metrics. */
  readonly version: string;
  /** Milliseconds from some start (`performance.now`): how long each pass takes. */
  readonly now: () => number;
}

/** One thing the agent did, as it logs it: a JSON line each. */
export interface AgentAction {
  /** What it did: programs attached, or put back, sockets put back, programs taken off, a cgroup gone, a failure. */
  readonly action: "attached" | "restored" | "corrected" | "detached" | "gone" | "failed";
  /** The cgroup, as a path below the mount (`/` for the root). */
  readonly cgroup: string;
  /** The policy, as the config names it. */
  readonly policy?: string;
  /** The programs attached or taken off, by id. */
  readonly programs?: number[];
  /** Sockets already there set (attached, restored) or put back (corrected). */
  readonly sockets?: number;
  /** How the sockets already there were reached (`iterator` or `pidfd`). */
  readonly reach?: string;
  /** Why it failed. */
  readonly error?: string;
}

/** A cgroup's path below the mount, as the agent names it. */
const named = (relative: string) => `/${relative}`;

/** Adds `count` to a policy's counter. */
function addTo(counter: Map<string, number>, policy: string, count: number): void {
  counter.set(policy, (counter.get(policy) ?? 0) + count);
}

/** What a cgroup's programs hold, as text to compare: what `sock_ops` sets, and what `setsockopt` holds, if any. */
function heldText(setting: readonly Write[] | undefined, holding: readonly SocketOption[] | undefined): string {
  const sets = setting?.map(({ option, value }) => `${option.name}=${value}`).sort().join() ?? "none";
  return `${sets}; ${holding?.map((option) => option.name).sort().join() ?? "none"}`;
}

/** A node agent: see the module's summary. */
export class NodeAgent {
  readonly #open: () => Syscalls;
  readonly #platform: Platform;
  /** The policies it keeps. */
  readonly config: AgentConfig;
  /** How it runs. */
  readonly settings: AgentSettings;
  /** The cgroups this agent attached to, by path below the mount: what it puts back. */
  readonly #attached = new Map<string, AgentPolicy>();
  /** What the last pass matched: each cgroup and its policy. */
  #matched = new Map<string, AgentPolicy>();
  /** Every cgroup the last pass walked, and its id (its directory's inode), by path below the mount. */
  #ids = new Map<string, bigint>();
  readonly #counters: AgentCounters = agentCounters();
  #observation: Observation | undefined;
  #ready = false;
  /** What each policy's programs hold, as {@linkcode heldText} writes it: planned once. */
  readonly #expected = new Map<AgentPolicy, string>();
  /** What this module's programs seen in the last pass were read as, by id (`null` another's): read once each. */
  #read = new Map<number, HeldProgram | null>();

  /**
   * An agent that has done nothing yet: {@linkcode NodeAgent.reconcile} is its first pass.
   *
   * @param open Opens the binding.
   * @param platform This OS's table (Linux's).
   * @param config The policies.
   * @param settings How it runs.
   */
  constructor(open: () => Syscalls, platform: Platform, config: AgentConfig, settings: AgentSettings) {
    this.#open = open;
    this.#platform = platform;
    this.config = config;
    this.settings = settings;
  }

  /** A cgroup's directory, from its path below the mount (`""` the root). */
  #pathOf(relative: string): string {
    return relative ? `${this.settings.root}/${relative}` : this.settings.root;
  }

  /** Every cgroup's path below the mount (`""` the root), with its id (its directory's inode). */
  #walk(): Map<string, bigint> {
    const { root } = this.settings;
    const paths = new Map<string, bigint>();
    walkCgroups(
      this.#open(),
      root,
      (directory, id) => paths.set(directory.slice(root.length + 1), id),
      () => {}, // a name that is not UTF-8: no policy's pattern names it
    );
    return paths;
  }

  /** Whether a pass has walked the host's cgroups: what `/readyz` and the `ready` gauge say. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Every cgroup directory the last pass walked: what to watch for cgroups made and removed between passes. */
  get directories(): string[] {
    return [...this.#ids.keys()].map((relative) => this.#pathOf(relative));
  }

  /**
   * One pass: each cgroup a policy matches gets its programs where it lacks them, deepest first, with its sockets
   * already there set; those someone took off are put back.
   *
   * @returns What it did.
   */
  reconcile(): AgentAction[] {
    const started = this.settings.now();
    const actions: AgentAction[] = [];
    const { owner } = this.settings;
    try {
      this.#ids = this.#walk();
    } catch (error) {
      this.#counters.errors++;
      return [{ action: "failed", cgroup: "/", error: (error as Error).message }];
    }
    this.#matched = policiesFor(this.config, [...this.#ids.keys()]);
    // A program is read once: the ids still attached keep what they were read as, the others are forgotten.
    const before = this.#read;
    this.#read = new Map();
    const read = {
      get: (id: number) => {
        const known = this.#read.get(id) ?? before.get(id);
        if (known !== undefined) this.#read.set(id, known);
        return known;
      },
      set: (id: number, held: HeldProgram | null) => this.#read.set(id, held),
    };
    for (const [relative, policy] of this.#matched) {
      const path = this.#pathOf(relative);
      try {
        const held = heldProgramsAt(this.#open, this.#platform, path, read);
        const ours = held.filter((program) => program.owner === owner);
        if (this.#holds(ours, policy)) {
          this.#attached.set(relative, policy);
          continue;
        }
        // Another owner's programs of this module holding this policy (an agent of the pod before, which will take
        // its own off): left, so that two agents never take turns.
        const others = held.filter((program) => program.owner !== owner);
        if (ours.length === 0 && others.length && this.#holds(others, policy)) continue;
        const done = applyToCgroup(this.#open, this.#platform, path, policy.options, {
          enforce: policy.enforce,
          owner,
          root: relative === "",
        });
        const restored = this.#attached.has(relative);
        if (restored) addTo(this.#counters.restored, policy.name, 1);
        this.#attached.set(relative, policy);
        actions.push({
          action: restored ? "restored" : "attached",
          cgroup: named(relative),
          policy: policy.name,
          programs: done.programs.map((program) => program.id),
          sockets: done.processes.reduce((sum, { sockets }) => sum + sockets.length, 0),
          reach: done.reach,
        });
      } catch (error) {
        if (!this.#exists(path)) continue; // removed while it was looked at
        this.#counters.errors++;
        actions.push({
          action: "failed",
          cgroup: named(relative),
          policy: policy.name,
          error: (error as Error).message,
        });
      }
    }
    for (const relative of [...this.#attached.keys()]) {
      if (this.#matched.has(relative)) continue;
      this.#attached.delete(relative);
      actions.push({ action: "gone", cgroup: named(relative) });
    }
    this.#counters.passes++;
    observe(this.#counters.durations, (this.settings.now() - started) / 1000);
    this.#ready = true;
    return actions;
  }

  /** Whether these programs of this module are the policy's: what `sock_ops` sets, and `enforce`'s holds. */
  #holds(held: readonly HeldProgram[], policy: AgentPolicy): boolean {
    let expected = this.#expected.get(policy);
    if (expected === undefined) {
      const writes = planWrites(policy.options, this.#platform);
      this.#expected.set(
        policy,
        expected = heldText(writes, policy.enforce ? writes.map(({ option }) => option) : undefined),
      );
    }
    const setting = held.find((program) => program.kind === "sock_ops");
    return setting !== undefined &&
      heldText(setting.writes, held.find((program) => program.kind === "setsockopt")?.holds) === expected;
  }

  #exists(path: string): boolean {
    const fd = this.#open().cgroup().openDirectory(path);
    if (fd >= 0) this.#open().close(fd);
    return fd >= 0;
  }

  /**
   * Under `enforce`, puts back to the policy every socket of its cgroups that holds something else, in one pass a
   * network namespace: what no cgroup program sees (a 32-bit process's own `setsockopt`).
   *
   * @returns A line for each cgroup where sockets were put back, or the pass failed.
   */
  correct(): AgentAction[] {
    const enforced = [...this.#matched].filter(([, policy]) => policy.enforce);
    if (enforced.length === 0) return [];
    const policyOf = new Map(
      enforced.map(([relative, policy]) => [this.#pathOf(relative), [relative, policy] as const]),
    );
    // Each cgroup's sockets are the nearest matched cgroup's, its own or an ancestor's: the enforced ones' ids.
    const ids = new Map<string, bigint[]>(enforced.map(([relative]) => [relative, []]));
    for (const [relative, id] of this.#ids) {
      let at = relative;
      while (!this.#matched.has(at) && at !== "") at = at.includes("/") ? at.slice(0, at.lastIndexOf("/")) : "";
      ids.get(at)?.push(id);
    }
    try {
      const corrected = correctCgroups(
        this.#open,
        this.#platform,
        enforced.map(([relative, policy]) => ({
          path: this.#pathOf(relative),
          options: policy.options,
          ids: ids.get(relative)!,
        })),
      );
      return corrected.flatMap(({ path, corrected: sockets, refused }) => {
        const [relative, policy] = policyOf.get(path)!;
        if (sockets) addTo(this.#counters.corrected, policy.name, sockets);
        return [
          ...(sockets ? [{ action: "corrected", cgroup: named(relative), policy: policy.name, sockets } as const] : []),
          ...(refused.length
            ? [{ action: "failed", cgroup: named(relative), policy: policy.name, error: refused.join("; ") } as const]
            : []),
        ];
      });
    } catch (error) {
      this.#counters.errors++;
      return [{ action: "failed", cgroup: "/", error: (error as Error).message }];
    }
  }

  /**
   * Reads what the host's connections hold, in one pass over every network namespace in use, for the metrics.
   *
   * @returns What was read.
   */
  observe(): Observation {
    const counter = new ObservationCounter(this.settings.overMs);
    // The cgroups by id, as the last pass walked them: a socket made in one since is counted as unknown ("?").
    const paths = new Map([...this.#ids].map(([relative, id]) => [id, named(relative)]));
    const namespaces = scanHostAt(this.#open, this.#platform, (socket) => {
      counter.add(socket, paths.get(socket.cgroupId) ?? "?");
    });
    return this.#observation = counter.result(namespaces);
  }

  /** The metrics in Prometheus' text format: the last observation, and what the agent did. */
  exposition(): string {
    return exposition(this.metrics());
  }

  /** What the metrics export: the last observation, and what the agent did. */
  metrics(): MetricsState {
    const programs = new Map<string, { sock_ops: number; setsockopt: number }>();
    for (const policy of this.#attached.values()) {
      const kinds = programs.get(policy.name) ?? { sock_ops: 0, setsockopt: 0 };
      kinds.sock_ops++;
      if (policy.enforce) kinds.setsockopt++;
      programs.set(policy.name, kinds);
    }
    return {
      version: this.settings.version,
      overMs: this.settings.overMs,
      observation: this.#observation,
      programs,
      counters: this.#counters,
      ready: this.#ready,
    };
  }

  /**
   * Takes off this agent's programs (its owner's) from every cgroup it attached to or its policies match, leaving
   * another owner's and another tool's.
   *
   * @returns A line for each cgroup it took programs off.
   */
  stop(): AgentAction[] {
    const actions: AgentAction[] = [];
    for (const relative of new Set([...this.#attached.keys(), ...this.#matched.keys()])) {
      const path = this.#pathOf(relative);
      try {
        const detached = clearCgroup(this.#open, this.#platform, path, { owner: this.settings.owner })
          .filter((program) => program.detached).map((program) => program.id);
        if (detached.length) actions.push({ action: "detached", cgroup: named(relative), programs: detached });
      } catch (error) {
        if (this.#exists(path)) {
          actions.push({ action: "failed", cgroup: named(relative), error: (error as Error).message });
        }
      }
    }
    this.#attached.clear();
    return actions;
  }
}
