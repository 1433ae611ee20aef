import type { IRunningSessionSidebar } from '@jupyterlab/running';

/**
 * The least share of the Running panel's height the Remote kernels section
 * gets when kernels appear in it (or its equal share, if larger).
 */
export const MIN_SECTION_SHARE = 0.25;

/**
 * Relative sizes of accordion sections with section `index` given at least
 * `share` (or an equal share, if larger), the others shrunk in proportion;
 * `null` if it has that already.
 *
 * The Remote kernels section comes last of seven or so and gets no more
 * room than the empty ones (62 px, two rows and a half, in a 1024×768
 * window): this is the resize the user would otherwise do by hand.
 */
export function roomFor(
  sizes: ReadonlyArray<number>,
  index: number,
  share: number = MIN_SECTION_SHARE
): number[] | null {
  if (index < 0 || index >= sizes.length) {
    return null;
  }
  const total = sizes.reduce((sum, size) => sum + Math.max(0, size), 0);
  const normed =
    total > 0
      ? sizes.map(size => Math.max(0, size) / total)
      : sizes.map(() => 1 / sizes.length);
  const target = Math.min(1, Math.max(share, 1 / sizes.length));
  if (normed[index] >= target) {
    return null;
  }
  const others = 1 - normed[index];
  return normed.map((size, i) => {
    if (i === index) {
      return target;
    }
    return others > 0 ? (size * (1 - target)) / others : 0;
  });
}

/**
 * Give the Running panel section `sectionId` room (see `roomFor`), if the
 * sidebar has it; whether it had to be resized.
 */
export function giveSectionRoom(
  sidebar: IRunningSessionSidebar,
  sectionId: string,
  share: number = MIN_SECTION_SHARE
): boolean {
  // JupyterLab before 4.6 has no sections API: leave its layout as it is.
  if (typeof sidebar.getSections !== 'function') {
    return false;
  }
  const panel = sidebar.accordionPanel;
  const entry = sidebar.getSections().find(s => s.id === sectionId);
  if (!panel || !entry) {
    return false;
  }
  const index = Array.from(panel.widgets).indexOf(entry.widget);
  const sizes = roomFor(panel.relativeSizes(), index, share);
  if (!sizes) {
    return false;
  }
  panel.setRelativeSizes(sizes);
  return true;
}
