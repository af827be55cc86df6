export { repoRoot, tlogVectorsDir, readJson } from './paths.js';
export { tempDir, type TempDir } from './tempdir.js';
export {
  startNatsServer,
  natsServerBin,
  NATS_READY_MS_MAX_DEFAULT,
  NATS_STOP_MS_MAX,
  type NatsServer,
  type NatsServerOptions,
} from './nats.js';
