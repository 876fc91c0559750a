/** Stack settings as the Pulumi engine hands them over, through the same validator synth uses. */
import * as pulumi from "@pulumi/pulumi";
import { parseSettings, stackFile, type RawConfig, type Settings } from "../settings";
import * as path from "node:path";

const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret?: (key: string) => boolean };

function decode(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** The engine's config in stack-file shape: secrets become `{ secure: "[secret]" }`, never their value. */
export function engineConfig(): RawConfig {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig()).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const isSecret = runtime.isConfigSecret?.(key) ?? false;
    out[key] = isSecret ? { secure: "[secret]" } : decode(value);
  }
  return out;
}

/** The stack file as error messages name it (relative to the working directory). */
export function engineStackFile(): string {
  return path.relative(process.cwd(), stackFile(pulumi.getStack()));
}

export function settingsFromEngine(): Settings {
  return parseSettings(pulumi.getStack(), engineConfig(), engineStackFile());
}
