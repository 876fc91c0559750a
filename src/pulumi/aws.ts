/**
 * The stack's AWS side (settings cluster.aws; off by default): the backup
 * bucket and the Loki bucket, and IAM roles for the service accounts (IRSA)
 * of the backup jobs, restore verification and Loki.
 *
 * Every bucket: versioning, default encryption (SSE-S3), all public access
 * blocked, ACLs disabled, a policy that refuses any request without TLS, a
 * lifecycle that expires objects after the retention they serve (plus a day
 * of grace), expires replaced or deleted versions, and aborts stale multipart
 * uploads; and Object Lock in COMPLIANCE mode with a default retention: every
 * version written is immutable for that many days, for every identity, the
 * account's root included. A DeleteObject then only adds a delete marker.
 *
 * - backups: locked for the backup retention; the backup role lists and
 *   writes under the backup prefix and cannot delete (expiry is the
 *   lifecycle's, not the job's); restore-verify lists and reads only there.
 * - Loki: the immutable store of the security events. Locked for the
 *   security retention (loki.securityRetentionDays), every chunk and index
 *   version; the Loki role reads and writes, may delete only under index/
 *   (the compactor replaces index files it compacts: Loki's
 *   pkg/compactor/index_set.go removeFilesFromStorage), never a chunk, and is
 *   denied DeleteObjectVersion and any change to a lock. Retention is the
 *   lifecycle's, after the lock (loki.ts: Loki's compactor applies no
 *   retention on S3), so app logs stay as long as security events there.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../settings";
import { clusterSettings, RELEASES } from "./cluster";

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: PolicyStatement[];
}

/** The service accounts of the stack's jobs and Loki (token-cleanup talks to no AWS service and gets no role). */
export const SERVICE_ACCOUNTS = {
  /** backup and migrate (migrate.sh backs up before it changes anything). */
  backup: "pg-backup",
  restoreVerify: "restore-verify",
  tokenCleanup: "token-cleanup",
  loki: RELEASES.loki,
} as const;

function partitionOf(arn: string): string {
  return arn.split(":")[1] ?? "aws";
}

export const bucketArn = (partition: string, bucket: string) => `arn:${partition}:s3:::${bucket}`;

/** IRSA: only this service account of this namespace, through the cluster's OIDC provider, may assume the role. */
export function trustPolicy(oidcProviderArn: string, namespace: string, serviceAccount: string): PolicyDocument {
  const issuer = oidcProviderArn.slice(oidcProviderArn.indexOf(":oidc-provider/") + ":oidc-provider/".length);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`, [`${issuer}:aud`]: "sts.amazonaws.com" } },
      },
    ],
  };
}

/** Listing restricted to a prefix (aws s3 ls s3://bucket/prefix/). */
const listPrefix = (bucket: string, prefix: string): PolicyStatement => ({
  Sid: "ListBackupPrefix",
  Effect: "Allow",
  Action: "s3:ListBucket",
  Resource: bucket,
  Condition: { StringLike: { "s3:prefix": [`${prefix}/`, `${prefix}/*`] } },
});

export function backupPolicy(partition: string, bucket: string, prefix: string): PolicyDocument {
  const arn = bucketArn(partition, bucket);
  return {
    Version: "2012-10-17",
    Statement: [listPrefix(arn, prefix), { Sid: "WriteBackups", Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload"], Resource: `${arn}/${prefix}/*` }],
  };
}

export function restoreVerifyPolicy(partition: string, bucket: string, prefix: string): PolicyDocument {
  const arn = bucketArn(partition, bucket);
  return {
    Version: "2012-10-17",
    Statement: [listPrefix(arn, prefix), { Sid: "ReadBackups", Effect: "Allow", Action: "s3:GetObject", Resource: `${arn}/${prefix}/*` }],
  };
}

/** Loki's index objects (its schema's default index path prefix); chunks are under the tenant's prefix. */
export const LOKI_INDEX_PREFIX = "index/";
/** What no role may do to a locked object, whatever else is attached to it later. */
const LOCK_TAMPERING = ["s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention"];

export function lokiPolicy(partition: string, bucket: string): PolicyDocument {
  const arn = bucketArn(partition, bucket);
  const index = `${arn}/${LOKI_INDEX_PREFIX}*`;
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListLokiBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: arn },
      { Sid: "ReadWriteLokiObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: `${arn}/*` },
      { Sid: "ReplaceCompactedIndex", Effect: "Allow", Action: "s3:DeleteObject", Resource: index },
      { Sid: "NeverDeleteChunks", Effect: "Deny", Action: "s3:DeleteObject", NotResource: index },
      { Sid: "NeverTouchLockedVersions", Effect: "Deny", Action: LOCK_TAMPERING, Resource: `${arn}/*` },
      { Sid: "NeverChangeTheLock", Effect: "Deny", Action: ["s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:PutBucketPolicy", "s3:DeleteBucket"], Resource: arn },
    ],
  };
}

/** Refuses every request that does not arrive over TLS. */
export function tlsOnlyPolicy(partition: string, bucket: string): PolicyDocument {
  const arn = bucketArn(partition, bucket);
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ],
  };
}

interface BucketArgs {
  readonly bucket: string;
  /** Object Lock (COMPLIANCE) default retention: every version is immutable this many days. */
  readonly lockDays: number;
  /** Days after which current objects expire (after the lock). */
  readonly expireDays: number;
  /** Days a replaced or deleted version stays recoverable. */
  readonly noncurrentDays: number;
  /** Only objects under this prefix expire (backups); unset: the whole bucket. */
  readonly prefix?: string;
  readonly partition: string;
  readonly tags: Record<string, string>;
}

/** A private, encrypted, versioned, TLS-only bucket with a lifecycle. */
export class PrivateBucket extends pulumi.ComponentResource {
  readonly name: string;

  constructor(name: string, args: BucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:aws:PrivateBucket", name, {}, opts);
    const child = { parent: this };
    this.name = args.bucket;
    const bucket = new aws.s3.Bucket(name, { bucket: args.bucket, forceDestroy: false, tags: args.tags }, child);
    const id = bucket.id;
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: id, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
    const block = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access-block`,
      { bucket: id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      child,
    );
    if (args.expireDays <= args.lockDays) throw new Error(`bucket ${args.bucket}: current objects would expire (day ${args.expireDays}) before their lock ends (day ${args.lockDays})`);
    const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: id, versioningConfiguration: { status: "Enabled" } }, child);
    // Enabled here rather than with the bucket's objectLockEnabled, which would replace (empty) a bucket that exists; S3 allows it on a versioned bucket.
    new aws.s3.BucketObjectLockConfiguration(
      `${name}-object-lock`,
      { bucket: id, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: "COMPLIANCE", days: args.lockDays } } },
      { ...child, dependsOn: [versioning] },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket: id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
      child,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: id,
        rules: [
          {
            id: "expire-after-retention",
            status: "Enabled",
            filter: { prefix: args.prefix ? `${args.prefix}/` : "" },
            expiration: { days: args.expireDays },
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentDays },
          },
          { id: "abort-incomplete-uploads", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
        ],
      },
      child,
    );
    // After the public access block: a policy is applied to a bucket that can no longer be made public.
    new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket: id, policy: JSON.stringify(tlsOnlyPolicy(args.partition, args.bucket)) }, { ...child, dependsOn: [block] });
    this.registerOutputs({ name: this.name });
  }
}

export class AwsStorage extends pulumi.ComponentResource {
  readonly backupBucket: string;
  readonly backupDestination: string;
  readonly lokiBucket: string | undefined;
  readonly region: string;
  /** Service account → the role it assumes. */
  readonly roleArns: Partial<Record<keyof typeof SERVICE_ACCOUNTS, pulumi.Output<string>>> = {};

  constructor(name: string, args: { settings: Settings }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:aws:Storage", name, {}, opts);
    const s = args.settings;
    const c = clusterSettings(s);
    const a = c.aws;
    if (!a.enabled || !a.oidcProviderArn || !a.buckets.backups) throw new Error("AwsStorage needs cluster.aws.enabled, oidcProviderArn and buckets.backups (settings validate this)");
    const oidc = a.oidcProviderArn;
    const partition = partitionOf(oidc);
    const provider = new aws.Provider("aws", { region: a.region, defaultTags: { tags: { "app.kubernetes.io/part-of": "authwatch", "authwatch:stack": s.stack } } }, { parent: this });
    const child = { parent: this, provider };
    const tags = { environment: s.environment };
    this.region = a.region;
    this.backupBucket = a.buckets.backups;
    this.backupDestination = `s3://${a.buckets.backups}/${a.backupPrefix}`;
    this.lokiBucket = a.buckets.loki;

    new PrivateBucket(
      "backups",
      {
        bucket: a.buckets.backups,
        prefix: a.backupPrefix,
        lockDays: c.jobs.backup.retentionDays,
        expireDays: c.jobs.backup.retentionDays + 1,
        noncurrentDays: a.noncurrentVersionDays,
        partition,
        tags: { ...tags, Name: a.buckets.backups, purpose: "postgres-backups" },
      },
      child,
    );
    if (a.buckets.loki) {
      new PrivateBucket(
        "loki",
        {
          bucket: a.buckets.loki,
          // The security retention for every version (settings keep it the longest); nothing expires before the lock ends.
          lockDays: s.loki.securityRetentionDays,
          expireDays: s.loki.securityRetentionDays + 1,
          noncurrentDays: s.loki.securityRetentionDays,
          partition,
          tags: { ...tags, Name: a.buckets.loki, purpose: "loki-chunks" },
        },
        child,
      );
    }

    const role = (key: keyof typeof SERVICE_ACCOUNTS, policy: PolicyDocument, what: string) => {
      const roleName = `authwatch-${s.stack}-${SERVICE_ACCOUNTS[key]}`;
      const r = new aws.iam.Role(
        roleName,
        { name: roleName, description: `authwatch ${s.stack}: ${what}`, assumeRolePolicy: JSON.stringify(trustPolicy(oidc, c.namespace, SERVICE_ACCOUNTS[key])), maxSessionDuration: 3600 },
        child,
      );
      new aws.iam.RolePolicy(roleName, { role: r.name, policy: JSON.stringify(policy) }, child);
      this.roleArns[key] = r.arn;
    };
    role("backup", backupPolicy(partition, a.buckets.backups, a.backupPrefix), "backups and migrations write the backup prefix (never delete)");
    role("restoreVerify", restoreVerifyPolicy(partition, a.buckets.backups, a.backupPrefix), "restore verification reads the backup prefix");
    if (a.buckets.loki) role("loki", lokiPolicy(partition, a.buckets.loki), "Loki's chunks, index and rules");
    this.registerOutputs({ backupBucket: this.backupBucket, lokiBucket: this.lokiBucket, roleArns: this.roleArns });
  }
}
