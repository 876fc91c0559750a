/** The real `amtool config routes test`: which receivers an alert with these labels reaches, in order. */
import { execFileSync } from "node:child_process";

export function amtoolReceivers(configFile: string, labels: Readonly<Record<string, string>>): string[] {
  const args = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const out = execFileSync("amtool", ["config", "routes", "test", `--config.file=${configFile}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return out.trim().split(",").filter(Boolean);
}
