export {
  envName,
  flagName,
  configDefaults,
  readConfig,
  checkSettings,
  usage,
  type ConfigSpec,
  type NumberSetting,
  type StringSetting,
  type NumberKeyOf,
  type StringKeyOf,
  type UsageLayout,
} from './settings.js';
export { stopOnSignals, type StopOnSignalsOptions } from './signals.js';
export { boundConnections } from './connections.js';
export { readTlsFiles, readCaFile, createHttpServer, type TlsFiles } from './tls.js';
export { readSecretFile, readBrokerAccess, SECRET_CHARS_MAX, type BrokerAccess } from './secret.js';
