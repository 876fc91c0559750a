/** Render a stack into a fresh temporary directory (removed after the test file), as `npm run synth` would. */
import { loadStackSettings, type Settings } from "../../src/settings";
import { renderStack, writeRendered, type Rendered } from "../../src/synth";
import { tempDir } from "./tmp";

export interface RenderedStack extends Rendered {
  readonly settings: Settings;
  readonly dir: string;
}

export function renderToTemp(stackOrSettings: string | Settings): RenderedStack {
  const settings = typeof stackOrSettings === "string" ? loadStackSettings(stackOrSettings) : stackOrSettings;
  const rendered = renderStack(settings);
  const dir = tempDir(settings.stack);
  writeRendered(rendered.files, dir);
  return { ...rendered, settings, dir };
}

/** Settings with some values replaced, as if the stack file said so. */
export function withOverrides(s: Settings, edit: (draft: Settings) => void): Settings {
  const copy = structuredClone(s) as Settings;
  edit(copy);
  return copy;
}
