/**
 * Loading a stack's settings: the one typed, validated view of `stacks/Pulumi.<stack>.yaml`.
 *
 * The same parser serves synth (which reads the YAML file) and the Pulumi
 * program (which reads the engine's config): both hand it the `config:` map.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { CLUSTER_SECRET_KEYS, type ClusterSecretKey } from "./cluster";
import { SECRET_KEYS, type SecretKey } from "./routing";
import { settingsSchema, type Settings } from "./schema";

export const PROJECT = "authwatch";
export const STACKS_DIR = path.resolve(__dirname, "..", "..", "stacks");

/** Config namespaces that belong to providers, not to us: passed through untouched. */
const PROVIDER_NAMESPACES = new Set(["kubernetes", "grafana", "aws", "pulumi"]);
/** Provider settings that are credentials: refused as plain text like ours. */
export const PROVIDER_SECRET_KEYS = ["grafana:auth"] as const;

export class SettingsError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: invalid stack settings:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "SettingsError";
  }
}

/** A config value as found in a stack file: plain data, or `{ secure: <ciphertext> }`. */
export type RawConfig = Readonly<Record<string, unknown>>;

const isSecure = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v) && "secure" in v;

/**
 * Validate a stack's `config:` map (keys `authwatch:<name>`). Throws a
 * SettingsError naming the file and every offending key; never returns a
 * partially valid result.
 */
export function parseSettings(stack: string, config: RawConfig, file: string): Settings {
  const problems: string[] = [];
  const ours: Record<string, unknown> = {};
  const secrets = Object.fromEntries(SECRET_KEYS.map((k) => [k, false])) as Record<SecretKey, boolean>;
  const clusterSecrets = Object.fromEntries(CLUSTER_SECRET_KEYS.map((k) => [k, false])) as Record<ClusterSecretKey, boolean>;

  for (const [fullKey, value] of Object.entries(config)) {
    const [ns, key, ...rest] = fullKey.split(":");
    if (key === undefined || rest.length > 0 || !ns) {
      problems.push(`${fullKey}: a config key is <namespace>:<name>, e.g. ${PROJECT}:thresholds`);
    } else if (ns !== PROJECT) {
      if (!PROVIDER_NAMESPACES.has(ns)) problems.push(`${fullKey}: unknown config namespace "${ns}" (known: ${PROJECT}, ${[...PROVIDER_NAMESPACES].join(", ")})`);
      else if ((PROVIDER_SECRET_KEYS as readonly string[]).includes(fullKey) && !isSecure(value)) {
        problems.push(`${fullKey}: is a secret; set it with \`pulumi config set --secret ${fullKey} <value>\`, never as plain text`);
      }
    } else if ((SECRET_KEYS as readonly string[]).includes(key) || (CLUSTER_SECRET_KEYS as readonly string[]).includes(key)) {
      if (!isSecure(value)) problems.push(`${fullKey}: is a secret; set it with \`pulumi config set --secret ${fullKey} <value>\`, never as plain text`);
      else if ((SECRET_KEYS as readonly string[]).includes(key)) secrets[key as SecretKey] = true;
      else clusterSecrets[key as ClusterSecretKey] = true;
    } else if (isSecure(value)) {
      problems.push(`${fullKey}: is not a secret setting; set it as plain config`);
    } else {
      ours[key] = value;
    }
  }

  const result = settingsSchema.safeParse(ours);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const at = [`${PROJECT}:${String(issue.path[0] ?? "")}`, ...issue.path.slice(1).map(String)].join(".");
      const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.map((k) => `"${k}"`).join(", ")})` : "";
      const label = issue.path.length === 0 && issue.code === "unrecognized_keys" ? `${PROJECT}` : at;
      problems.push(`${label}: ${issue.message}${keys}`);
    }
  }
  if (problems.length > 0 || !result.success) throw new SettingsError(file, problems);
  return { ...result.data, stack, secrets, clusterSecrets };
}

export function stackFile(stack: string, dir = STACKS_DIR): string {
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** Read and validate `stacks/Pulumi.<stack>.yaml`. */
export function loadStackSettings(stack: string, dir = STACKS_DIR): Settings {
  const file = stackFile(stack, dir);
  const shown = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new SettingsError(shown, [`no such stack file (stacks: ${listStacks(dir).join(", ") || "none"})`]);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw new SettingsError(shown, [`not valid YAML: ${(e as Error).message.split("\n")[0]}`]);
  }
  const top = (doc ?? {}) as Record<string, unknown>;
  const allowedTop = new Set(["config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"]);
  const unknownTop = Object.keys(top).filter((k) => !allowedTop.has(k));
  if (unknownTop.length > 0) throw new SettingsError(shown, unknownTop.map((k) => `${k}: unknown top-level key (settings go under config:)`));
  return parseSettings(stack, (top.config ?? {}) as RawConfig, shown);
}

export function listStacks(dir = STACKS_DIR): string[] {
  return readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}
