/** Sizes as Kubernetes and Prometheus write them, in bytes. */

const KUBE_UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** Bytes of a Kubernetes memory/storage quantity (512Mi, 50Gi, 1G), or undefined. */
export function quantityBytes(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  return m ? Number(m[1]) * (KUBE_UNITS[m[2] ?? ""] ?? NaN) : undefined;
}

/** Prometheus' retention size, base-2 units as Prometheus reads them. */
const PROM_UNITS: Record<string, number> = { MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };
export const PROM_SIZE = /^\d+(MB|GB|TB)$/;

/** Bytes of a Prometheus size (45GB); NaN unless it matches PROM_SIZE. */
export const promSizeBytes = (v: string) => Number(v.slice(0, -2)) * (PROM_UNITS[v.slice(-2)] ?? NaN);
