/**
 * Panel ids, the one place they are defined. Like dashboard uids they are a
 * public interface: alerts' dashboard_url opens `/d/<uid>?viewPanel=<id>`, and
 * people bookmark panels. Never renumber a panel; give a new one a new id.
 * Rows are numbered from 100 so they never collide with panels.
 */
export const PANELS = {
  overview: {
    rowHealth: 100,
    serviceHealth: 1,
    requestRate: 2,
    errorRatio: 3,
    loginSuccessRate: 4,
    activeSessions: 5,
    rowTraffic: 101,
    errorRatioTimeline: 6,
    responseTimePercentiles: 7,
    eventsTimeline: 8,
    rowLogins: 102,
    loginFailureRatio: 9,
    loginMethods: 10,
    loginFailureReasons: 11,
    rowRegistrationsTokens: 103,
    registrations: 12,
    registrationFailureRatio: 13,
    registrationSpike: 14,
    tokenValidations: 15,
    tokenValidationFailureRatio: 16,
    rowSessionsSecurity: 104,
    sessions: 17,
    inactiveSessionRatio: 18,
    securityEvents: 19,
    rowFlows: 105,
    oauth: 20,
    guests: 21,
    passwordResets: 22,
    rowErrors: 106,
    errorHeatmap: 23,
    errorLogLines: 24,
  },
  security: {
    rowFailedLogins: 100,
    bruteForceByIp: 1,
    failedLoginsByIpTimeline: 2,
    failedLoginsByCountry: 3,
    rowSignIns: 101,
    geoAnomaly: 4,
    loginsByCountry: 5,
    rowAbuse: 102,
    rateLimit: 6,
    invalidTokens: 7,
    lockouts: 8,
    refreshReuse: 9,
    csrf: 10,
    rowLogs: 103,
    rlsViolations: 11,
    securityLog: 12,
    failedLoginsByIpHour: 13,
    accountFailures: 14,
    failedLoginsPerHour: 15,
    registrationsByIp: 16,
  },
  performance: {
    rowRequests: 100,
    requestP95: 1,
    routeP95: 2,
    routePercentiles: 3,
    probeDuration: 4,
    rowOperations: 101,
    loginP95: 5,
    refreshP95: 6,
    operationP95: 7,
    tokenValidationMean: 8,
    tokenValidationHeatmap: 9,
    rowDatabase: 102,
    databaseQueries: 10,
    databaseLocks: 11,
    rowResources: 103,
    memoryRatio: 12,
    memoryBytes: 13,
    restarts: 14,
    requestP99: 15,
    loginMean: 16,
  },
  database: {
    rowConnections: 100,
    pgUp: 1,
    connectionsByState: 2,
    connectionUsage: 3,
    rowLocks: 101,
    locks: 4,
    deadlocks: 5,
    rowBackups: 102,
    backupAge: 6,
    backupSize: 7,
    backupDuration: 8,
    rowRestore: 103,
    restoreAge: 9,
    rowsMismatched: 10,
    restoreDuration: 11,
    rowMaintenance: 104,
    cleanupThroughput: 12,
    cleanupTotal: 13,
    longTransactions: 14,
    rowJobs: 105,
    jobFailures: 15,
    serviceDatabaseErrors: 16,
  },
  monitoring: {
    rowPipeline: 100,
    watchdog: 1,
    alertsBySeverity: 2,
    firingAlerts: 3,
    rowPrometheus: 101,
    targetsUp: 4,
    targetsDown: 5,
    ruleEvaluationFailures: 6,
    notificationsDropped: 7,
    rowAlertmanager: 102,
    notificationFailures: 8,
    notificationsSent: 9,
    rowLoki: 103,
    lokiRuleEvaluationFailures: 10,
  },
  rollback: {
    rowKillSwitch: 100,
    killSwitch: 1,
    flagStates: 2,
    rolloutPercentage: 3,
    rowDrill: 101,
    drillAge: 4,
  },
} as const;

/**
 * The SLO dashboard's blocks, one per SLO of alerts/slo.ts, keyed by SLO name:
 * a new SLO gets new ids here (the dashboard refuses an SLO without them).
 */
export const SLO_PANELS = {
  "auth-availability": { row: 100, objective: 11, sli: 12, budgetRemaining: 13, burnRates: 14, sliTimeline: 15 },
  "auth-latency": { row: 101, objective: 21, sli: 22, budgetRemaining: 23, burnRates: 24, sliTimeline: 25 },
} as const satisfies Readonly<Record<string, SloPanelIds>>;

export interface SloPanelIds {
  readonly row: number;
  readonly objective: number;
  readonly sli: number;
  readonly budgetRemaining: number;
  readonly burnRates: number;
  readonly sliTimeline: number;
}

/** The ids of an SLO's block; an SLO without its own ids is an error, never an id made up from its position. */
export function sloPanels(name: string): SloPanelIds {
  const ids = (SLO_PANELS as Readonly<Record<string, SloPanelIds>>)[name];
  if (!ids) throw new Error(`dashboards/panels.ts: SLO "${name}" (alerts/slo.ts) has no panel ids in SLO_PANELS; give it new ones`);
  return ids;
}
