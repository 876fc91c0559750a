/**
 * Every S3 bucket is encrypted, versioned and closed to the public. With
 * @pulumi/aws v7 each of these is its own resource beside the bucket, so this
 * is a stack check: every bucket must have each companion, configured so.
 *
 * A companion belongs to a bucket through its `bucket` input: the engine
 * records the bucket it came from as a property dependency (known during a
 * preview, when a new bucket's id is not); a companion given a plain name
 * is matched by that name.
 */
export const BUCKET_TYPES: readonly string[] = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];

/** The part of @pulumi/policy's PolicyResource this check reads. */
export interface StackResource {
  readonly type: string;
  readonly urn: string;
  readonly name: string;
  readonly props: Record<string, any>;
  readonly propertyDependencies: Record<string, readonly { urn: string }[]>;
}

interface Companion {
  readonly what: string;
  readonly types: readonly string[];
  /** Why this companion's settings fall short, or undefined when they do not. */
  readonly problem: (props: Record<string, any>) => string | undefined;
}

const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];
const PUBLIC_ACCESS_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

export const COMPANIONS: readonly Companion[] = [
  {
    what: "default encryption",
    types: [
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    ],
    problem: (p) =>
      Array.isArray(p.rules) && p.rules.length > 0 && p.rules.every((r: any) => SSE_ALGORITHMS.includes(r?.applyServerSideEncryptionByDefault?.sseAlgorithm))
        ? undefined
        : `every rule needs applyServerSideEncryptionByDefault.sseAlgorithm (one of ${SSE_ALGORITHMS.join(", ")})`,
  },
  {
    what: "versioning",
    types: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
    problem: (p) => (p.versioningConfiguration?.status === "Enabled" ? undefined : `versioningConfiguration.status is ${JSON.stringify(p.versioningConfiguration?.status)}, not "Enabled"`),
  },
  {
    what: "public access block",
    types: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
    problem: (p) => {
      const open = PUBLIC_ACCESS_FLAGS.filter((f) => p[f] !== true);
      return open.length === 0 ? undefined : `${open.join(", ")} not true`;
    },
  },
];

function belongsTo(companion: StackResource, bucket: StackResource): boolean {
  const deps = companion.propertyDependencies?.bucket ?? [];
  if (deps.length > 0) return deps.some((d) => d.urn === bucket.urn);
  const name = companion.props.bucket;
  return typeof name === "string" && (name === bucket.props.bucket || name === bucket.props.id);
}

export interface Finding {
  readonly urn: string;
  readonly message: string;
}

export function bucketFindings(resources: readonly StackResource[]): Finding[] {
  const findings: Finding[] = [];
  const buckets = resources.filter((r) => BUCKET_TYPES.includes(r.type));
  for (const bucket of buckets) {
    for (const c of COMPANIONS) {
      const mine = resources.filter((r) => c.types.includes(r.type) && belongsTo(r, bucket));
      if (mine.length === 0) {
        findings.push({ urn: bucket.urn, message: `S3 bucket ${bucket.name}: no ${c.what} (${c.types[0]!.split(":").pop()} for this bucket)` });
        continue;
      }
      for (const m of mine) {
        const problem = c.problem(m.props);
        if (problem) findings.push({ urn: m.urn, message: `S3 bucket ${bucket.name}: ${c.what} ${m.name}: ${problem}` });
      }
    }
  }
  return findings;
}
