/**
 * The monthly rollback drill (seed 002 "run rollback drill monthly", "test
 * rollback in staging"), where the stack runs it (cluster.rollbackDrill; on by
 * default for environment staging): a CronJob running
 * `npm run rollback -- --dry-run --drill --stack <stack> --reason "monthly rollback drill"`
 * in the authwatch image against the stack's database. The dry run changes
 * nothing; on success it pushes
 * rollback_drill_last_success_timestamp_seconds{stack} to the stack's
 * Pushgateway, which RollbackDrillMissing watches.
 *
 * Least privilege: DATABASE_URL from a Secret of its own (the Pulumi secret
 * rollbackDrillDatabaseUrl, the read-only role authwatch_rollback_drill,
 * which checks the rollback role's grants without holding them), read through secretKeyRef
 * only; a ServiceAccount without an API token; a non-root pod with a
 * read-only root filesystem; egress to PostgreSQL and the Pushgateway only
 * (src/pulumi/network.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../settings";
import { clusterSettings, COMPONENTS, containerResources, inClusterUrls, metadata, objectLabels, restricted, seconds, secretConfig } from "./cluster";

export const ROLLBACK_DRILL = COMPONENTS.rollbackDrill;
export const ROLLBACK_DRILL_SECRET = `${ROLLBACK_DRILL}-database`;
/**
 * What the CronJob runs: the command of runbooks/auth-rollback.md, planned
 * only. --stack labels the pushed metric and loads the stack's settings
 * (stacks/ is in the image; the CLI only reads it).
 */
export const drillCommand = (stack: string): string[] => ["npm", "run", "rollback", "--", "--dry-run", "--drill", "--stack", stack, "--reason", "monthly rollback drill"];

export class RollbackDrill extends pulumi.ComponentResource {
  readonly schedule: string;

  constructor(name: string, args: { settings: Settings }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:rollback:Drill", name, {}, opts);
    const s = args.settings;
    const c = clusterSettings(s);
    const d = c.rollbackDrill;
    // Settings validation requires the image wherever the drill runs (src/settings/cluster.ts).
    if (!d.image) throw new Error(`stack ${s.stack}: cluster.rollbackDrill.image is required where the rollback drill runs`);
    const child = { parent: this };
    const secret = new k8s.core.v1.Secret(
      ROLLBACK_DRILL_SECRET,
      { metadata: metadata(s, ROLLBACK_DRILL_SECRET, ROLLBACK_DRILL), type: "Opaque", stringData: { DATABASE_URL: secretConfig("rollbackDrillDatabaseUrl") } },
      child,
    );
    const account = new k8s.core.v1.ServiceAccount(ROLLBACK_DRILL, { metadata: metadata(s, ROLLBACK_DRILL), automountServiceAccountToken: false }, child);
    const sec = restricted(d.runAsUser);
    const labels = objectLabels(ROLLBACK_DRILL, { "authwatch.io/job": ROLLBACK_DRILL });
    this.schedule = d.schedule;
    new k8s.batch.v1.CronJob(
      ROLLBACK_DRILL,
      {
        metadata: metadata(s, ROLLBACK_DRILL, ROLLBACK_DRILL, { labels: { "authwatch.io/job": ROLLBACK_DRILL } }),
        spec: {
          schedule: d.schedule,
          timeZone: c.jobs.timeZone,
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: 3600,
          successfulJobsHistoryLimit: c.jobs.successfulJobsHistoryLimit,
          failedJobsHistoryLimit: c.jobs.failedJobsHistoryLimit,
          jobTemplate: {
            metadata: { labels },
            spec: {
              backoffLimit: c.jobs.backoffLimit,
              activeDeadlineSeconds: seconds(d.activeDeadline),
              template: {
                metadata: { labels },
                spec: {
                  serviceAccountName: ROLLBACK_DRILL,
                  automountServiceAccountToken: false,
                  restartPolicy: "Never",
                  securityContext: sec.pod,
                  containers: [
                    {
                      name: ROLLBACK_DRILL,
                      image: d.image,
                      command: drillCommand(s.stack),
                      env: [
                        { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: ROLLBACK_DRILL_SECRET, key: "DATABASE_URL" } } },
                        { name: "PUSHGATEWAY_URL", value: inClusterUrls(s).pushgateway },
                        { name: "PGAPPNAME", value: `authwatch-${ROLLBACK_DRILL}` },
                        // npm writes its cache and logs under HOME: the emptyDir, the root filesystem is read-only.
                        { name: "HOME", value: "/tmp" },
                        { name: "TMPDIR", value: "/tmp" },
                        { name: "npm_config_update_notifier", value: "false" },
                      ],
                      resources: containerResources(d.resources),
                      securityContext: sec.container,
                      volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                    },
                  ],
                  volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
                },
              },
            },
          },
        },
      },
      { ...child, dependsOn: [secret, account] },
    );
    this.registerOutputs({ schedule: this.schedule });
  }
}
