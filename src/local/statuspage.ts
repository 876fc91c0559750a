/**
 * The status page's stand-in on the notification sink: `npm run rollback`
 * POSTs its incident ({title, status, message}, the authDown template) to the
 * stack's rollback.statusPageWebhookUrl, which the local stack points here.
 */
import type { Received } from "./sink";

export const STATUS_PAGE_PATH = "/statuspage";

export interface StatusPageUpdate {
  readonly at: number;
  readonly title: string;
  readonly status: string;
  readonly message: string;
}

export function toStatusPageUpdate(r: Received): StatusPageUpdate | undefined {
  if (r.path !== STATUS_PAGE_PATH) return undefined;
  const b = (typeof r.body === "object" && r.body !== null ? r.body : {}) as Record<string, unknown>;
  const text = (k: string) => (typeof b[k] === "string" ? (b[k] as string) : "");
  return { at: r.at, title: text("title"), status: text("status"), message: text("message") };
}
