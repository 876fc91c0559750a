/**
 * The database jobs of docs/database.md on Kubernetes: the scripts synth
 * renders (postgres/jobs/*.sh, lib.sh beside them) and the migrations
 * (postgres/migrations/*.sql) in one ConfigMap, mounted at /opt/authwatch
 * (migrations in /opt/authwatch/migrations), run by the stack's image
 * (psql, pg_dump, pg_restore, curl, aws):
 *
 * - db-migrate-<hash>: a Job at deploy time. Its name carries a hash of the
 *   migrations, so it is a new Job (and runs again) exactly when a migration
 *   changes; Pulumi waits for it to complete.
 * - pg-backup (daily), restore-verify and token-cleanup (weekly): CronJobs
 *   with concurrencyPolicy Forbid, a small backoffLimit and history limits.
 *
 * Each job connects as its own database role (postgres/roles.sql): its
 * DATABASE_URL (and restore-verify's RESTORE_VERIFY_TARGET_URL) comes from a
 * Secret of its own, written from the stack's Pulumi secret for that job
 * (DATABASE_JOB_SECRETS) and read by no other job; metrics go to the stack's
 * Pushgateway. Backups
 * go to the AWS backup bucket through the pg-backup role (IRSA) or, without
 * AWS, to a volume. Pods run as a non-root user with a read-only root
 * filesystem; TMPDIR is an emptyDir (s3:// backups are staged there).
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSecretKey, Settings } from "../settings";
import type { Rendered } from "../synth";
import { SERVICE_ACCOUNTS, type AwsStorage } from "./aws";
import {
  clusterSettings,
  COMPONENTS,
  containerResources,
  inClusterUrls,
  metadata,
  objectLabels,
  optionalSecretConfig,
  restricted,
  seconds,
  secretConfig,
  volumeClaimSpec,
} from "./cluster";

const MIGRATIONS = "postgres/migrations/";
const JOBS = "postgres/jobs/";
export const SCRIPTS_DIR = "/opt/authwatch";

/** The jobs, each under its own database role; `migrate` is the deploy-time Job (db-migrate-<hash>). */
type DatabaseJob = "migrate" | "pg-backup" | "restore-verify" | "token-cleanup";
/** Each job → the Pulumi secret holding its DATABASE_URL, with what needs it (src/pulumi/preflight.ts requires every one). */
export const DATABASE_JOB_SECRETS = {
  migrate: ["migrateDatabaseUrl", "the migration Job (DATABASE_URL as the schema owner, authwatch_migrate; its pre-migration backup too)"],
  "pg-backup": ["backupDatabaseUrl", "the pg-backup CronJob (DATABASE_URL as the read-only authwatch_backup)"],
  "restore-verify": ["restoreVerifyDatabaseUrl", "the restore-verify CronJob (DATABASE_URL: the backed-up database, as authwatch_restore_verify)"],
  "token-cleanup": ["tokenCleanupDatabaseUrl", "the token-cleanup CronJob (DATABASE_URL as authwatch_token_cleanup)"],
} as const satisfies Record<DatabaseJob, readonly [ClusterSecretKey, string]>;
/** The same, as preflight lists required secrets. */
export const databaseJobSecrets = (): [ClusterSecretKey, string][] => Object.values(DATABASE_JOB_SECRETS).map(([key, what]) => [key, what]);
/** The Secret a job reads its credentials from (one per job). */
export const databaseSecretName = (job: DatabaseJob) => `${job === "migrate" ? "db-migrate" : job}-database`;
export const BACKUP_VOLUME = "pg-backups";
const BACKUP_MOUNT = "/var/backups/authwatch";

/**
 * A short content hash of the migrations (names and bytes, in name order):
 * it changes when any migration is added, removed, renamed or edited, and
 * with nothing else.
 */
export function migrationsHash(files: ReadonlyMap<string, string>): string {
  const h = createHash("sha256");
  for (const [file, text] of [...files].filter(([f]) => f.startsWith(MIGRATIONS)).sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(`${file.slice(MIGRATIONS.length)}\0${text}\0`);
  }
  return h.digest("hex").slice(0, 10);
}

export const migrationJobName = (files: ReadonlyMap<string, string>) => `db-migrate-${migrationsHash(files)}`;

interface JobSpec {
  readonly job: DatabaseJob;
  readonly name: string;
  readonly script: string;
  readonly args?: string[];
  readonly serviceAccount: string;
  readonly env: k8s.types.input.core.v1.EnvVar[];
  readonly backups: boolean;
}

export class DatabaseJobs extends pulumi.ComponentResource {
  readonly migrationJob: string;
  readonly backupDestination: string;
  /** CronJob name → schedule. */
  readonly schedules: Record<string, string>;

  constructor(name: string, args: { settings: Settings; rendered: Rendered; aws?: AwsStorage }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:database:Jobs", name, {}, opts);
    const s = args.settings;
    const c = clusterSettings(s);
    const jobs = c.jobs;
    const child = { parent: this };
    const files = args.rendered.files;
    const scripts = [...files].filter(([f]) => f.startsWith(JOBS)).map(([f, text]) => [f.slice(JOBS.length), text] as const);
    const migrations = [...files].filter(([f]) => f.startsWith(MIGRATIONS)).map(([f, text]) => [f.slice(MIGRATIONS.length), text] as const);

    const configMap = new k8s.core.v1.ConfigMap(
      COMPONENTS.databaseJobs,
      { metadata: metadata(s, COMPONENTS.databaseJobs), data: Object.fromEntries([...scripts, ...migrations]) },
      child,
    );
    const secrets = (Object.keys(DATABASE_JOB_SECRETS) as DatabaseJob[]).map((job) => {
      const name = databaseSecretName(job);
      const stringData: Record<string, pulumi.Output<string>> = { DATABASE_URL: secretConfig(DATABASE_JOB_SECRETS[job][0]) };
      if (job === "restore-verify") stringData.RESTORE_VERIFY_TARGET_URL = secretConfig("restoreVerifyTargetUrl");
      return new k8s.core.v1.Secret(name, { metadata: metadata(s, name, COMPONENTS.databaseJobs), type: "Opaque", stringData }, child);
    });
    const roleArns = args.aws?.roleArns ?? {};
    const accounts = [SERVICE_ACCOUNTS.backup, SERVICE_ACCOUNTS.restoreVerify, SERVICE_ACCOUNTS.tokenCleanup].map((sa) => {
      const arn = sa === SERVICE_ACCOUNTS.backup ? roleArns.backup : sa === SERVICE_ACCOUNTS.restoreVerify ? roleArns.restoreVerify : undefined;
      return new k8s.core.v1.ServiceAccount(
        sa,
        {
          metadata: metadata(s, sa, COMPONENTS.databaseJobs, arn ? { annotations: { "eks.amazonaws.com/role-arn": arn } } : {}),
          automountServiceAccountToken: false,
        },
        child,
      );
    });
    const backupVolume = args.aws
      ? undefined
      : new k8s.core.v1.PersistentVolumeClaim(BACKUP_VOLUME, { metadata: metadata(s, BACKUP_VOLUME, COMPONENTS.databaseJobs), spec: volumeClaimSpec(jobs.backupVolume) }, child);
    this.backupDestination = args.aws ? args.aws.backupDestination : `file://${BACKUP_MOUNT}`;
    const dependsOn = [configMap, ...secrets, ...accounts, ...(backupVolume ? [backupVolume] : [])];

    const fromSecret = (job: DatabaseJob, key: string): k8s.types.input.core.v1.EnvVar => ({ name: key, valueFrom: { secretKeyRef: { name: databaseSecretName(job), key } } });
    const common: k8s.types.input.core.v1.EnvVar[] = [
      { name: "PUSHGATEWAY_URL", value: inClusterUrls(s).pushgateway },
      { name: "TMPDIR", value: "/tmp" },
      { name: "HOME", value: "/tmp" },
    ];
    // --jobs: the setting, or the container's CPU request rounded up (a pod has no CPU limit here).
    const parallelJobs = (name: string, n: number | undefined): k8s.types.input.core.v1.EnvVar =>
      n === undefined ? { name, valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1" } } } : { name, value: String(n) };
    const backupEnv: k8s.types.input.core.v1.EnvVar[] = [
      { name: "BACKUP_DESTINATION", value: this.backupDestination },
      { name: "BACKUP_RETENTION_DAYS", value: String(jobs.backup.retentionDays) },
      { name: "BACKUP_FORMAT", value: jobs.backup.format },
      parallelJobs("BACKUP_JOBS", jobs.backup.parallelJobs),
      { name: "BACKUP_COMPRESSION", value: String(jobs.backup.compression) },
      ...(args.aws ? [{ name: "AWS_REGION", value: args.aws.region }, { name: "AWS_DEFAULT_REGION", value: args.aws.region }] : []),
    ];
    const sec = restricted(jobs.runAsUser);
    const items = [...scripts.map(([f]) => ({ key: f, path: f })), ...migrations.map(([f]) => ({ key: f, path: `migrations/${f}` }))];
    const podSpec = (j: JobSpec): k8s.types.input.core.v1.PodSpec => ({
      serviceAccountName: j.serviceAccount,
      automountServiceAccountToken: false,
      restartPolicy: "Never",
      securityContext: sec.pod,
      containers: [
        {
          name: j.name,
          image: jobs.image,
          command: ["sh", `${SCRIPTS_DIR}/${j.script}`, ...(j.args ?? [])],
          env: [fromSecret(j.job, "DATABASE_URL"), ...common, { name: "PGAPPNAME", value: `authwatch-${j.name}` }, ...j.env],
          resources: containerResources(jobs.resources),
          securityContext: sec.container,
          volumeMounts: [
            { name: "scripts", mountPath: SCRIPTS_DIR, readOnly: true },
            { name: "tmp", mountPath: "/tmp" },
            ...(j.backups && backupVolume ? [{ name: "backups", mountPath: BACKUP_MOUNT }] : []),
          ],
        },
      ],
      volumes: [
        { name: "scripts", configMap: { name: COMPONENTS.databaseJobs, items, defaultMode: 0o444 } },
        { name: "tmp", emptyDir: { sizeLimit: jobs.scratchSize } },
        ...(j.backups && backupVolume ? [{ name: "backups", persistentVolumeClaim: { claimName: BACKUP_VOLUME } }] : []),
      ],
    });
    const jobSpec = (j: JobSpec) => ({
      backoffLimit: jobs.backoffLimit,
      activeDeadlineSeconds: seconds(jobs.activeDeadline),
      template: { metadata: { labels: objectLabels(COMPONENTS.databaseJobs, { "authwatch.io/job": j.name }) }, spec: podSpec(j) },
    });

    // The migration: a new Job whenever the migrations change (and only then); Pulumi awaits its completion.
    this.migrationJob = migrationJobName(files);
    const migrate: JobSpec = {
      job: "migrate",
      name: this.migrationJob,
      script: "migrate.sh",
      args: ["up"],
      serviceAccount: SERVICE_ACCOUNTS.backup,
      env: [{ name: "MIGRATIONS_DIR", value: `${SCRIPTS_DIR}/migrations` }, ...backupEnv],
      backups: true,
    };
    new k8s.batch.v1.Job(
      this.migrationJob,
      { metadata: metadata(s, this.migrationJob, COMPONENTS.databaseJobs, { labels: { "authwatch.io/job": "db-migrate" } }), spec: jobSpec(migrate) },
      { ...child, dependsOn, deleteBeforeReplace: true },
    );

    const cronJobs: (JobSpec & { schedule: string })[] = [
      { job: "pg-backup", name: "pg-backup", script: "backup.sh", schedule: jobs.backup.schedule, serviceAccount: SERVICE_ACCOUNTS.backup, env: backupEnv, backups: true },
      {
        job: "restore-verify",
        name: "restore-verify",
        script: "restore-verify.sh",
        schedule: jobs.restoreVerify.schedule,
        serviceAccount: SERVICE_ACCOUNTS.restoreVerify,
        env: [
          ...backupEnv.filter((e) => e.name === "BACKUP_DESTINATION" || String(e.name).startsWith("AWS_")),
          { name: "RESTORE_VERIFY_DATABASE", value: jobs.restoreVerify.scratchDatabase },
          parallelJobs("RESTORE_VERIFY_JOBS", jobs.restoreVerify.parallelJobs),
          fromSecret("restore-verify", "RESTORE_VERIFY_TARGET_URL"),
        ],
        backups: true,
      },
      {
        job: "token-cleanup",
        name: "token-cleanup",
        script: "token-cleanup.sh",
        schedule: jobs.tokenCleanup.schedule,
        serviceAccount: SERVICE_ACCOUNTS.tokenCleanup,
        env: [
          { name: "TOKEN_CLEANUP_AFTER_DAYS", value: String(jobs.tokenCleanup.afterDays) },
          { name: "TOKEN_CLEANUP_BATCH_SIZE", value: String(jobs.tokenCleanup.batchSize) },
        ],
        backups: false,
      },
    ];
    for (const j of cronJobs) {
      new k8s.batch.v1.CronJob(
        j.name,
        {
          metadata: metadata(s, j.name, COMPONENTS.databaseJobs, { labels: { "authwatch.io/job": j.name } }),
          spec: {
            schedule: j.schedule,
            timeZone: jobs.timeZone,
            concurrencyPolicy: "Forbid",
            // A run the controller missed (e.g. during an upgrade) still starts within the hour.
            startingDeadlineSeconds: 3600,
            successfulJobsHistoryLimit: jobs.successfulJobsHistoryLimit,
            failedJobsHistoryLimit: jobs.failedJobsHistoryLimit,
            jobTemplate: { metadata: { labels: objectLabels(COMPONENTS.databaseJobs, { "authwatch.io/job": j.name }) }, spec: jobSpec(j) },
          },
        },
        { ...child, dependsOn },
      );
    }
    this.schedules = Object.fromEntries(cronJobs.map((j) => [j.name, j.schedule]));
    this.registerOutputs({ migrationJob: this.migrationJob, backupDestination: this.backupDestination, schedules: this.schedules });
  }
}
