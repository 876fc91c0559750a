/**
 * The whole catalog: every rule group a stack deploys, in a stable order.
 * One area, one name: alerts/<area>.ts defines group auth-<area>, rendered to
 * prometheus/rules/auth-<area>.yaml (and loki/rules/ for log alerts), proven
 * in test/proofs/<area>.ts.
 */
import type { LogRuleGroup, PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { authenticationAlerts } from "./authentication";
import { availabilityAlerts, availabilityLogAlerts } from "./availability";
import { backupAlerts } from "./backups";
import { databaseAlerts } from "./database";
import { monitoringAlerts } from "./monitoring";
import { performanceAlerts } from "./performance";
import { recordingRules } from "./recording";
import { rollbackAlerts } from "./rollback";
import { securityAlerts, securityLogAlerts } from "./security";
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
    rollbackAlerts(s),
    ...sloRuleGroups(s),
    monitoringAlerts(s),
  ];
}

export function lokiRuleGroups(s: Settings): LogRuleGroup[] {
  return [availabilityLogAlerts(s), securityLogAlerts(s)];
}

/** Runbooks for procedures rather than one alert; alert runbooks link to them. */
export const PROCEDURE_RUNBOOKS = ["complete-outage", "security-incident-response", "database-recovery"] as const;
