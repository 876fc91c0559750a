/**
 * Stack settings (`stacks/Pulumi.<stack>.yaml`, keys `authwatch:<name>`). Every
 * threshold in docs/alerts.md is a named setting whose default is the prod
 * value; a stack overrides only what differs.
 */
export { cronProblems } from "./cron";
export { quantityBytes } from "./quantities";
export { ALERTMANAGER_CONFIG_DIR, ALERTMANAGER_SECRETS_DIR, SECRET_KEYS, type SecretKey } from "./routing";
export { CLUSTER_SECRET_KEYS, rollbackDrillRuns, type ClusterSecretKey, type ClusterSettings } from "./cluster";
export type { Settings, Thresholds } from "./schema";
export { REMOTE_WRITE_KINDS, REMOTE_WRITE_SECRET_KEY, type RemoteWriteKind, type RemoteWriteSettings } from "./remote-write";
export {
  listStacks,
  loadStackSettings,
  parseSettings,
  PROJECT,
  PROVIDER_SECRET_KEYS,
  SettingsError,
  STACKS_DIR,
  stackFile,
  type RawConfig,
} from "./load";
