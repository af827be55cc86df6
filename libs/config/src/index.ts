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
