/**
 * No secret in a ConfigMap: ConfigMaps are readable by anyone who may read the
 * namespace's config, end up in `kubectl describe` and in Pulumi state as
 * plain text. Secrets belong in a Secret (the program writes them there from
 * Pulumi secrets). Looks at every key and value (binaryData decoded), the
 * charts' ConfigMaps included, for:
 * - a key named like a secret (password, token, routing key, ...) holding a
 *   literal value; in file contents, `name: value` / `name=value` pairs alike;
 * - a Slack incoming-webhook URL, a PEM private key, a URL with a password
 *   (postgres://user:pass@host, ...).
 * A reference is not a secret: `$VAR`, `${VAR}`, `{{ .Template }}`, and keys
 * that name a secret's file, path or name (`password_file`, `secretName`).
 * Certificates are public and allowed. Messages name the key, never the value.
 */
export const CONFIG_MAP_TYPES: readonly string[] = ["kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:ConfigMapPatch"];

/** Words (last word of a key, or its last two) that make a key a secret's name. */
const SECRET_WORDS = new Set(["password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "credentials", "credential", "dsn"]);
const SECRET_PAIRS = new Set(["api key", "private key", "routing key", "service key", "integration key", "access key", "secret key", "webhook url", "client secret", "auth token"]);
/** Keys whose value points at a secret instead of being one. */
const REFERENCE_WORDS = new Set(["file", "path", "name", "ref", "env", "arn", "id", "mount", "dir"]);
/** Files whose contents are scanned line by line rather than taken as one value. */
const FILE_KEY = /\.(sh|bash|sql|ya?ml|json|tmpl|tpl|conf|cfg|ini|toml|js|ts|py|lua|alloy|river|txt|md|properties|env)$/i;

const VALUE_PATTERNS: readonly [string, RegExp][] = [
  ["a Slack webhook URL", /https?:\/\/hooks\.slack\.com\/(services|workflows|triggers)\/\S+/i],
  ["a PEM private key", /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/],
  ["a URL with a password", /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]+:(?![$%<{*])[^\s@/'"]+@/i],
];

function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** The key names a secret (its value is the secret itself, not a reference to one). */
export function isSecretName(key: string): boolean {
  const w = words(key);
  const last = w[w.length - 1];
  if (last === undefined || REFERENCE_WORDS.has(last)) return false;
  return SECRET_WORDS.has(last) || (w.length > 1 && SECRET_PAIRS.has(`${w[w.length - 2]} ${last}`));
}

/** A literal value: not empty and not a reference to something else. */
function isLiteral(value: string): boolean {
  const v = value.trim();
  if (v === "" || /^(true|false|null|none|~|""|'')$/i.test(v)) return false;
  return !/^(\$|\{\{|<|%\(|\*+$)/.test(v);
}

/** `name: value`, `name = value`, `"name": "value"` pairs in a file's text. */
const ASSIGNMENT = /(?<![\w$.-])["']?([A-Za-z][\w.-]*)["']?[ \t]*[:=][ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s,;#}\]]+))/g;

function valueFindings(where: string, text: string): string[] {
  const found = VALUE_PATTERNS.filter(([, re]) => re.test(text)).map(([what]) => `${where} holds ${what}`);
  for (const m of text.matchAll(ASSIGNMENT)) {
    const [, name, dq, sq, bare] = m;
    if (name && isSecretName(name) && isLiteral(dq ?? sq ?? bare ?? "")) found.push(`${where} sets ${name} to a literal value`);
  }
  return found;
}

/** One message per secret-looking entry of a ConfigMap's data and binaryData. */
export function configMapFindings(props: Record<string, any>): string[] {
  const findings: string[] = [];
  const entries: [string, string][] = [
    ...Object.entries((props?.data ?? {}) as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)]),
    ...Object.entries((props?.binaryData ?? {}) as Record<string, unknown>).map(([k, v]): [string, string] => [k, Buffer.from(String(v), "base64").toString("utf8")]),
  ];
  for (const [key, value] of entries) {
    if (!FILE_KEY.test(key) && isSecretName(key) && isLiteral(value)) findings.push(`key ${key} is named like a secret and holds a literal value`);
    findings.push(...valueFindings(`key ${key}`, value));
  }
  return [...new Set(findings)];
}
