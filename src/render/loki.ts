/** Loki ruler files are rendered by render/prometheus (same format); this is the retention limits file. */
import type { LogRetention } from "../model";
import type { Settings } from "../settings";
import { GENERATED, toYaml } from "./yaml";

const hours = (days: number) => `${days * 24}h`;

export function renderLokiLimits(s: Settings, r: LogRetention): string {
  const doc = {
    limits_config: {
      retention_period: hours(r.defaultDays),
      // A higher priority wins where selectors overlap; security events keep the longest period.
      retention_stream: r.streams.map((st, i) => ({ selector: st.selector, priority: r.streams.length - i, period: hours(st.days) })),
    },
  };
  const notes = r.streams.map((st) => `${st.selector}: ${st.days} days (${st.why})`).join("\n");
  return toYaml(doc, `${GENERATED}\nLoki limits for stack ${s.stack}. Retention needs compactor.retention_enabled (and, in Loki 3, compactor.delete_request_store).\n${notes}`);
}
