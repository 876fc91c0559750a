/**
 * index.ts under Pulumi's mocks with a stack's config as the engine would hand
 * it over: every resource registered, with its inputs as the mock sees them
 * and as they went over the wire (where a secret is still marked a secret).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { vi } from "vitest";
import type { ClusterSecretKey, SecretKey } from "../../src/settings";
import type { Rendered } from "../../src/synth";

/** How the Pulumi SDK marks a secret value on the wire. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Distinctive fake values: if one appears in plain text anywhere, the test finds it. */
export const FAKE_SECRETS: Record<SecretKey | ClusterSecretKey, string> = {
  slackAuthWebhookUrl: "https://hooks.slack.example/services/T0/B0/FAKE-slack-auth-7c1e",
  slackSecurityWebhookUrl: "https://hooks.slack.example/services/T0/B0/FAKE-slack-security-52d9",
  pagerdutyRoutingKey: "FAKE-pagerduty-routing-key-0b8f",
  smtpPassword: "FAKE-smtp-password-e41a",
  deadMansSwitchToken: "FAKE-dms-token-93c2",
  grafanaAdminPassword: "FAKE-grafana-admin-password-6d07",
  migrateDatabaseUrl: "postgresql://authwatch_migrate:FAKE-migrate-password-1a2b@db.example:5432/auth",
  backupDatabaseUrl: "postgresql://authwatch_backup:FAKE-backup-password-7f3e@db.example:5432/auth",
  restoreVerifyDatabaseUrl: "postgresql://authwatch_restore_verify:FAKE-restore-verify-password-9d1c@db.example:5432/auth",
  tokenCleanupDatabaseUrl: "postgresql://authwatch_token_cleanup:FAKE-token-cleanup-password-2b8a@db.example:5432/auth",
  postgresExporterDsn: "postgresql://exporter:FAKE-exporter-password-3c4d@db.example:5432/auth",
  restoreVerifyTargetUrl: "postgresql://verify:FAKE-verify-password-5e6f@scratch.example:5432/postgres",
  rollbackDrillDatabaseUrl: "postgresql://authwatch_rollback_drill:FAKE-rollback-drill-password-4a7c@db.example:5432/auth",
  grafanaPostgresPassword: "FAKE-grafana-postgres-password-8e2d",
  remoteWriteCredential: "FAKE-remote-write-credential-4b7d",
};

/** Fake values of the providers' credentials (their keys keep the provider's namespace). */
export const PROVIDER_FAKE_SECRETS: Readonly<Record<string, string>> = { "grafana:auth": "glsa_FAKE-grafana-token-8a1f" };

export type Config = Record<string, unknown>;

export interface Registered {
  readonly type: string;
  readonly name: string;
  /** Inputs as the mock sees them (a secret's plain value inside a secret marker pushed up to the top-level property). */
  readonly inputs: Record<string, any>;
  /** Inputs as serialized to the resource monitor: a secret is marked exactly where it is. */
  readonly wire: Record<string, any>;
}

export function stackConfig(stack: string): Config {
  const file = path.join(__dirname, "..", "..", "stacks", `Pulumi.${stack}.yaml`);
  return structuredClone((yaml.load(readFileSync(file, "utf8")) as { config: Config }).config);
}

/** The stack's config with every secret set (as the stack file would hold its ciphertext). */
export function deployableConfig(stack: string, omit: readonly string[] = []): Config {
  const config = stackConfig(stack);
  for (const key of Object.keys(FAKE_SECRETS)) if (!omit.includes(key)) config[`authwatch:${key}`] = { secure: `v1:ciphertext-of-${key}` };
  return config;
}

const isSecure = (v: unknown) => typeof v === "object" && v !== null && "secure" in v;

export interface Run {
  readonly program: Record<string, any>;
  readonly resources: Registered[];
}

/**
 * Runs index.ts as stack `stack` with `config` (stack-file shape). Secrets get
 * their FAKE_SECRETS value (or "decrypted-<key>"). `render` replaces synth's
 * output for this run (e.g. a changed migration).
 */
export async function runProgram(stack: string, config: Config, opts: { render?: (r: Rendered) => Rendered; registered?: Registered[] } = {}): Promise<Run> {
  const secretKeys = Object.entries(config).filter(([, v]) => isSecure(v)).map(([k]) => k);
  const fake = FAKE_SECRETS as Record<string, string>;
  const flat = Object.fromEntries(
    Object.entries(config).map(([k, v]) => {
      const key = k.split(":")[1] ?? k;
      return [k, isSecure(v) ? (PROVIDER_FAKE_SECRETS[k] ?? fake[key] ?? `decrypted-${key}`) : typeof v === "string" ? v : JSON.stringify(v)];
    }),
  );
  const seen: Registered[] = opts.registered ?? [];
  const wire = new Map<string, Record<string, any>>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        seen.push({ type: args.type, name: args.name, inputs: args.inputs, wire: {} });
        const state: Record<string, unknown> = { ...args.inputs };
        // What AWS would return: the ARN of a role.
        if (args.type === "aws:iam/role:Role") state.arn = `arn:aws:iam::123456789012:role/${args.inputs.name}`;
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "authwatch",
    stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: any) => void };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    wire.set(`${req.getType()}::${req.getName()}`, req.getObject()?.toJavaScript() ?? {});
    register(req, cb);
  };
  pulumi.runtime.setAllConfig(flat, secretKeys);
  vi.resetModules();
  if (opts.render) {
    const replace = opts.render;
    vi.doMock("../../src/synth", async (importOriginal) => {
      const original = await importOriginal<typeof import("../../src/synth")>();
      return { ...original, renderStack: (...a: Parameters<typeof original.renderStack>) => replace(original.renderStack(...a)) };
    });
  }
  try {
    const program = (await import("../../index")) as Record<string, any>;
    await pulumi.runtime.disconnect();
    return { program, resources: seen.map((r) => Object.assign(r, { wire: wire.get(`${r.type}::${r.name}`) ?? {} })) };
  } finally {
    if (opts.render) vi.doUnmock("../../src/synth");
  }
}

export const isSecretMarker = (v: unknown): v is { value: unknown } =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_VALUE;

/** A deep copy with every secret marker replaced by its value (the object as Kubernetes or AWS receives it). */
export function unwrapSecrets(v: unknown): any {
  if (isSecretMarker(v)) return unwrapSecrets(v.value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

/** A deep copy with every secret marker (and what it holds) replaced by a placeholder: what state keeps in plain text. */
export function withoutSecrets(v: unknown): any {
  if (isSecretMarker(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(withoutSecrets);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutSecrets(x)]));
  return v;
}

export const ofType = (resources: readonly Registered[], type: string) => resources.filter((r) => r.type === type);

export function one(resources: readonly Registered[], type: string, name: string): Registered {
  const found = resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length} (of ${resources.filter((r) => r.type === type).map((r) => r.name).join(", ") || "none"})`);
  return found[0]!;
}
