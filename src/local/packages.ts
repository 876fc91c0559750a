/**
 * The Debian packages the local stack runs. Installed when missing and we
 * can (root, apt-get); otherwise the exact command to run is the error.
 */
import { existsSync, readFileSync } from "node:fs";
import { isRoot, run } from "./postgres";
import { locate, PROGRAMS, type ProgramName } from "./services";

export class MissingPackagesError extends Error {
  constructor(
    readonly packages: readonly string[],
    reason: string,
  ) {
    super(
      `the local stack needs these Debian packages, which are not installed: ${packages.join(", ")}\n` +
        `${reason}\ninstall them with:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages.join(" ")}\n` +
        "then run `npm run local` again.",
    );
    this.name = "MissingPackagesError";
  }
}

export function missingPrograms(): ProgramName[] {
  return (Object.keys(PROGRAMS) as ProgramName[]).filter((name) => locate(name) === undefined);
}

const isDebian = () => existsSync("/etc/debian_version") || /^ID(_LIKE)?=.*debian/m.test(existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "");

/**
 * Make sure every program is there. Installs the missing packages with
 * apt-get (one `apt-get update`, then one install) when running as root on
 * Debian, then stops the services those packages start: the local stack runs
 * its own instances on its own ports and data directory.
 */
export async function ensurePackages(opts: { install: boolean; log: (line: string) => void }): Promise<void> {
  const missing = missingPrograms();
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => PROGRAMS[m].pkg))];
  if (!opts.install) throw new MissingPackagesError(pkgs, "(--no-install given)");
  if (!isRoot) throw new MissingPackagesError(pkgs, "not running as root, so not installing them myself.");
  if (!isDebian() || !existsSync("/usr/bin/apt-get")) throw new MissingPackagesError(pkgs, "this is not a Debian system with apt-get.");

  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  opts.log(`installing ${pkgs.join(", ")} (apt-get, as root)…`);
  const update = await run("apt-get", ["update", "-qq"], { env });
  if (update.code !== 0) throw new MissingPackagesError(pkgs, `apt-get update failed:\n${update.stderr.trim()}`);
  const install = await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], { env });
  if (install.code !== 0) throw new MissingPackagesError(pkgs, `apt-get install failed:\n${install.stderr.trim()}`);
  for (const name of missing) {
    const service = PROGRAMS[name].debianService;
    if (!service) continue;
    // systemd where it runs, the init script otherwise; fine when neither started it.
    const stopped = await run("systemctl", ["stop", service]).catch(() => ({ code: 1 }));
    if (stopped.code !== 0) await run("service", [service, "stop"]).catch(() => undefined);
  }
  opts.log(`installed ${pkgs.join(", ")}; stopped the services they started (the local stack runs its own)`);
  const still = missingPrograms();
  if (still.length > 0) throw new MissingPackagesError([...new Set(still.map((m) => PROGRAMS[m].pkg))], "apt-get finished, but the programs are still missing.");
}
