/** Every alert's firing and silent cases, for one stack's thresholds. */
import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { authenticationProofs } from "./authentication";
import { availabilityProofs, performanceProofs } from "./availability";
import { backupProofs, databaseProofs } from "./database";
import { metaProofs } from "./meta";
import { securityProofs } from "./security";
import { sloProofs } from "./slo";

export function allProofs(s: Settings): AlertProof[] {
  return [
    ...availabilityProofs(s),
    ...performanceProofs(s),
    ...authenticationProofs(s),
    ...securityProofs(s),
    ...databaseProofs(s),
    ...backupProofs(s),
    ...sloProofs(s),
    ...metaProofs(s),
  ];
}
