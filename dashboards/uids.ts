/** Dashboard uids are a public interface (alerts' dashboard_url links to them): fixed here, once. */
export const DASHBOARD_UIDS = {
  overview: "auth-overview",
  security: "auth-security",
  performance: "auth-performance",
  database: "auth-database",
  slo: "auth-slo",
  monitoring: "monitoring-health",
  rollback: "auth-rollback",
} as const;
