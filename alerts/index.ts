/** The whole catalog: every rule group a stack deploys, in a stable order. */
import type { LogRuleGroup, PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { availabilityAlerts, performanceAlerts } from "./availability";
import { authenticationAlerts } from "./authentication";
import { backupAlerts } from "./backups";
import { databaseAlerts } from "./database";
import { logAlerts } from "./logs";
import { metaAlerts } from "./meta";
import { recordingRules } from "./recording";
import { securityAlerts } from "./security";
import { sloRuleGroups } from "./slo";

export function prometheusRuleGroups(s: Settings): PromRuleGroup[] {
  return [
    recordingRules(s),
    availabilityAlerts(s),
    performanceAlerts(s),
    authenticationAlerts(s),
    securityAlerts(s),
    databaseAlerts(s),
    backupAlerts(s),
    ...sloRuleGroups(s),
    metaAlerts(s),
  ];
}

export function lokiRuleGroups(s: Settings): LogRuleGroup[] {
  return logAlerts(s);
}

/** Runbooks for procedures rather than one alert; alert runbooks link to them. */
export const PROCEDURE_RUNBOOKS = ["complete-outage", "security-incident-response", "database-recovery"] as const;
