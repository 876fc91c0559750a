/** Field types shared by the settings' schemas. */
import { z } from "zod";
import { parseDuration } from "../duration";

export const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, { message: "must be a Prometheus duration such as 30s, 5m, 26h or 8d" })
  .refine((s) => (parseDuration(s) ?? 0) > 0, { message: "must be longer than 0s" });
/** A share of something: above 0, at most 1 (0.05 is 5 %). */
export const ratio = z.number().gt(0, "must be above 0 (a ratio: 0.05 is 5 %)").lte(1, "must be at most 1 (a ratio: 0.05 is 5 %)");
export const seconds = z.number().gt(0, "must be above 0 seconds");
export const count = z.number().int("must be a whole number").min(1, "must be at least 1");
export const factor = z.number().gt(1, "must be above 1 (a multiple of the earlier rate)");
export const url = z.url({ message: "must be an absolute URL" });

// Every field of these objects has a default, so an absent object means "all defaults".
export const obj = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict().prefault({} as z.input<z.ZodObject<T, z.core.$strict>>);

/** An error for a missing value that says what is required. */
export const required = (what: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? `required: ${what}` : undefined) });

/** A cross-field problem, reported at its path like a field's own. */
export type Issue = { code: "custom"; path: (string | number)[]; message: string };
export type IssueSink = { addIssue: (i: Issue) => void };
