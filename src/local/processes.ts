/** What the supervisor runs: each local process's command line, environment and readiness probe. */
import { join } from "node:path";
import { localUrl, LOOPBACK, tryFetch } from "./net";
import { PG_BIN, run } from "./postgres";
import { localDatabaseUrl, roleName } from "./roles";
import { alertmanagerArgs, blackboxArgs, locate, postgresExporterArgs, prometheusArgs, pushgatewayArgs, type ProgramName } from "./services";
import type { Layout, Ports, SingleProcessName } from "./state";
import type { ChildSpec } from "./supervisor";

export interface ProcessContext {
  readonly l: Layout;
  readonly ports: Ports;
  readonly databaseUrl: string;
  /** The OS user PostgreSQL runs as (under root). */
  readonly pgOwner: { uid: number; gid: number } | undefined;
}

export function processSpecs({ l, ports, databaseUrl, pgOwner }: ProcessContext): Record<SingleProcessName, ChildSpec> {
  const http = (port: number, path: string) => async () => (await tryFetch(`${localUrl(port)}${path}`, {}, 1000))?.ok === true;
  const bin = (p: ProgramName) => locate(p)!;
  return {
    postgres: {
      name: "postgres",
      command: join(PG_BIN, "postgres"),
      args: ["-D", l.pgData, "-p", String(ports.postgres), "-c", `listen_addresses=${LOOPBACK}`, "-c", "unix_socket_directories=", "-c", "max_connections=100"],
      user: pgOwner,
      cwd: l.postgres,
      stopSignal: "SIGINT",
      ready: async () => (await run(join(PG_BIN, "pg_isready"), ["-q", "-h", LOOPBACK, "-p", String(ports.postgres)])).code === 0,
    },
    pushgateway: {
      name: "pushgateway",
      command: bin("pushgateway"),
      args: pushgatewayArgs({ port: ports.pushgateway, persistenceFile: join(l.pushgateway, "metrics.db") }),
      ready: http(ports.pushgateway, "/-/ready"),
    },
    "postgres-exporter": {
      name: "postgres-exporter",
      command: bin("postgresExporter"),
      args: postgresExporterArgs({ port: ports.postgresExporter }),
      env: { ...process.env, DATA_SOURCE_NAME: `${databaseUrl}?sslmode=disable` },
      ready: http(ports.postgresExporter, "/metrics"),
    },
    auth: {
      name: "auth",
      command: process.execPath,
      args: ["--import", "tsx", join(__dirname, "demo", "main.ts"), "--port", String(ports.auth), "--log", l.authLog],
      marker: "demo/main.ts",
      // It reads the feature flags as roles.sql's service role (the stack applies roles.sql before starting it).
      env: { ...process.env, DATABASE_URL: localDatabaseUrl(ports.postgres, roleName("service") ?? "postgres") },
      ready: http(ports.auth, "/health"),
    },
    blackbox: {
      name: "blackbox",
      command: bin("blackbox"),
      args: blackboxArgs({ configFile: join(l.blackbox, "blackbox.yml"), port: ports.blackbox }),
      ready: http(ports.blackbox, "/metrics"),
    },
    alertmanager: {
      name: "alertmanager",
      command: bin("alertmanager"),
      args: alertmanagerArgs({ configFile: join(l.alertmanager, "alertmanager.yaml"), storage: join(l.alertmanager, "data"), port: ports.alertmanager }),
      ready: http(ports.alertmanager, "/-/ready"),
    },
    prometheus: {
      name: "prometheus",
      command: bin("prometheus"),
      args: prometheusArgs({ configFile: join(l.prometheus, "prometheus.yaml"), dataDir: join(l.prometheus, "data"), port: ports.prometheus }),
      ready: http(ports.prometheus, "/-/ready"),
    },
  };
}
