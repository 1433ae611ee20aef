/**
 * What every text of the extension shares: its translation domain, the
 * "name: value" lines of its tooltips, the Running panel section's own texts.
 *
 * Every user-visible word goes through the translation bundle `trans`
 * (`translator.load('jupyter_remote_kernels')`); what the server sends (names,
 * hosts, the backend's `where` and details) is shown as it comes.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

/**
 * The translation domain of the extension.
 */
export const TRANSLATION_DOMAIN = 'jupyter_remote_kernels';

/**
 * A tooltip line: its name and value; left out when the value is null,
 * undefined or empty.
 */
export type FieldLine = [string, string | number | null | undefined];

/**
 * Tooltip lines, "name: value" each, those without a value left out.
 */
export function fieldLines(
  lines: ReadonlyArray<FieldLine>,
  trans: TranslationBundle
): string {
  return lines
    .filter(
      ([, value]) => value !== null && value !== undefined && value !== ''
    )
    .map(([name, value]) => trans.__('%1: %2', name, value))
    .join('\n');
}

/**
 * The Running panel section's own texts. Its "Shut Down All" button keeps
 * JupyterLab's label, in JupyterLab's translation, as its other sections do:
 * a longer one leaves the section's name no room in the title bar ("R…").
 */
export function sectionTexts(trans: TranslationBundle): {
  name: string;
  shutdownAllConfirmationText: string;
} {
  return {
    name: trans.__('Remote kernels'),
    shutdownAllConfirmationText: trans.__(
      'Are you sure you want to permanently shut down all running kernels?'
    )
  };
}
