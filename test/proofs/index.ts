/** Every alert's firing and silent cases, for one stack's thresholds: one module per area, as alerts/. */
import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { authenticationProofs } from "./authentication";
import { availabilityProofs } from "./availability";
import { backupProofs } from "./backups";
import { databaseProofs } from "./database";
import { monitoringProofs } from "./monitoring";
import { performanceProofs } from "./performance";
import { rollbackProofs } from "./rollback";
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
    ...rollbackProofs(s),
    ...sloProofs(s),
    ...monitoringProofs(s),
  ];
}
