/** The `rollback` block: what `npm run rollback` needs of a stack (docs/rollback.md). */
import { z } from "zod";
import { obj, url } from "./fields";

export const rollbackSchema = obj({
  /**
   * Where the rollback POSTs the status-page incident (the authDown template's
   * status-page text as JSON). Unset: that step is skipped with a notice. A
   * credential never goes into the URL: the CLI sends $STATUS_PAGE_TOKEN as a
   * bearer token when it is set.
   */
  statusPageWebhookUrl: url
    .refine((u) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(u), { message: "must not carry a user or password (the token goes in $STATUS_PAGE_TOKEN)" })
    .optional(),
  /** The authDown templates' "Estimated Resolution" unless the command gives --field estimatedTime=... */
  estimatedResolution: z.string().min(1).default("2 hours"),
});

export type RollbackSettings = z.infer<typeof rollbackSchema>;
