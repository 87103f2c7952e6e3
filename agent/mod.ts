/**
 * A node agent: policies per workload (cgroup patterns), attached where they
 * match, kept true as cgroups come and go and as programs are taken off,
 * held on the sockets under `enforce`, and what the host's connections hold
 * exported to Prometheus (Linux).
 *
 * @module
 */
export { type AgentAction, type AgentSettings, NodeAgent } from "./_agent.ts";
export { type AgentConfig, type AgentPolicy, ConfigError, parseAgentConfig, readAgentConfig } from "./_config.ts";
export {
  type AgentCounters,
  type CgroupConnections,
  exposition,
  type Histogram,
  type MetricsState,
  type Observation,
} from "./_metrics.ts";
