/**
 * The programs of the local stack: which Debian package brings each one, and
 * the command lines they run with (the tests start Alertmanager the same way).
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { toYaml } from "../render/yaml";
import { findPgBin } from "./postgres";
import { LOOPBACK } from "./net";

export interface Program {
  /** Command name on PATH (or an absolute path, found at run time). */
  readonly binary: string;
  /** The Debian package that installs it. */
  readonly pkg: string;
  /** The service the package starts on install (stopped again: the local stack runs its own). */
  readonly debianService?: string;
}

export const PROGRAMS = {
  prometheus: { binary: "prometheus", pkg: "prometheus", debianService: "prometheus" },
  alertmanager: { binary: "prometheus-alertmanager", pkg: "prometheus-alertmanager", debianService: "prometheus-alertmanager" },
  pushgateway: { binary: "prometheus-pushgateway", pkg: "prometheus-pushgateway", debianService: "prometheus-pushgateway" },
  blackbox: { binary: "prometheus-blackbox-exporter", pkg: "prometheus-blackbox-exporter", debianService: "prometheus-blackbox-exporter" },
  postgresExporter: { binary: "prometheus-postgres-exporter", pkg: "prometheus-postgres-exporter", debianService: "prometheus-postgres-exporter" },
  postgres: { binary: "postgres", pkg: "postgresql", debianService: "postgresql" },
} as const satisfies Record<string, Program>;
export type ProgramName = keyof typeof PROGRAMS;

/** Where a program is installed, or undefined when it is missing. PostgreSQL lives outside PATH. */
export function locate(name: ProgramName): string | undefined {
  if (name === "postgres") {
    const bin = findPgBin();
    return bin && existsSync(join(bin, "postgres")) ? join(bin, "postgres") : undefined;
  }
  const binary = PROGRAMS[name].binary;
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(delimiter)) {
    const candidate = join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function alertmanagerArgs(o: { configFile: string; storage: string; port: number }): string[] {
  // --cluster.listen-address= : one instance, no gossip port.
  return [`--config.file=${o.configFile}`, `--storage.path=${o.storage}`, `--web.listen-address=${LOOPBACK}:${o.port}`, "--cluster.listen-address="];
}

export function prometheusArgs(o: { configFile: string; dataDir: string; port: number }): string[] {
  return [
    `--config.file=${o.configFile}`,
    `--storage.tsdb.path=${o.dataDir}`,
    "--storage.tsdb.retention.time=15d",
    `--web.listen-address=${LOOPBACK}:${o.port}`,
    // POST /-/reload after a re-render, without a restart.
    "--web.enable-lifecycle",
  ];
}

export function pushgatewayArgs(o: { port: number; persistenceFile: string }): string[] {
  // Persisted (and on SIGTERM), so a restart keeps the last backup's timestamp.
  return [`--web.listen-address=${LOOPBACK}:${o.port}`, `--persistence.file=${o.persistenceFile}`, "--persistence.interval=30s"];
}

export function blackboxArgs(o: { configFile: string; port: number }): string[] {
  return [`--config.file=${o.configFile}`, `--web.listen-address=${LOOPBACK}:${o.port}`];
}

export function postgresExporterArgs(o: { port: number }): string[] {
  // The connection is DATA_SOURCE_NAME in the environment.
  return [`--web.listen-address=${LOOPBACK}:${o.port}`];
}

/** The blackbox module the auth-health scrape job asks for (src/render/prometheus.ts: module http_2xx). */
export function blackboxConfig(): string {
  return toYaml(
    {
      modules: {
        http_2xx: {
          prober: "http",
          timeout: "4s",
          http: { preferred_ip_protocol: "ip4", method: "GET" },
        },
      },
    },
    "Blackbox exporter for the local stack: module http_2xx probes the demo service's /health.",
  );
}
