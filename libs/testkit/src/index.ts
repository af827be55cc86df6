export { repoRoot, tlogVectorsDir, readJson } from './paths.js';
export { tempDir, type TempDir } from './tempdir.js';
export {
  startNatsServer,
  startNatsCluster,
  natsServerBin,
  NATS_READY_MS_MAX_DEFAULT,
  NATS_STOP_MS_MAX,
  NATS_CLUSTER_NODES_MIN,
  NATS_CLUSTER_NODES_MAX,
  type NatsServer,
  type NatsServerOptions,
  type NatsCluster,
} from './nats.js';
export { Proc, PROC_READY_MS_MAX, PROC_STOP_MS_MAX, PROC_OUTPUT_CHARS_MAX } from './proc.js';
export { until } from './wait.js';
export {
  Cluster,
  startCluster,
  ensureServicesBuilt,
  serviceEntry,
  CLUSTER_REPLICAS,
  type ClusterOptions,
  type ProofOptions,
  type ServiceName,
} from './cluster.js';
export { runNode, RUN_MS_MAX_DEFAULT, type RunOptions, type RunResult } from './run.js';
export { connectLoopback, healthzOn, assertConnectionsBoundOfTwo } from './connections.js';
export { selfSignedCert, type TestCert } from './tls.js';
