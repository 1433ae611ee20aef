/**
 * The texts of a kernel's launch phase: its name, the scheduler's reason while
 * pending, the time spent in it.
 *
 * Pure functions: the same input gives the same text (the time is an argument).
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IPlacement, KernelPhase } from './model';
import { SETTLED_PHASES } from './model';

/**
 * A launch phase as shown to the user ("waiting-for-launcher" in English).
 *
 * The phase names are the server's; each is a literal here so that the
 * translation tooling finds it.
 */
export function phaseLabel(
  phase: KernelPhase,
  trans: TranslationBundle
): string {
  switch (phase) {
    case 'starting':
      return trans.__('starting');
    case 'submitting':
      return trans.__('submitting');
    case 'pending':
      return trans.__('pending');
    case 'waiting-for-launcher':
      return trans.__('waiting-for-launcher');
    case 'ready':
      return trans.__('ready');
    case 'pooled':
      return trans.__('pooled');
    case 'failed':
      return trans.__('failed');
    case 'shutting-down':
      return trans.__('shutting-down');
    case 'dead':
      return trans.__('dead');
    default:
      return String(phase); // A phase of a newer server: show it as it is.
  }
}

/**
 * A phase with what it waits for where that is the scheduler's word: the
 * `pending` phase with its reason, "pending: Resources". Other phases alone
 * (their detail is in the tooltip).
 *
 * The reason is the scheduler's, or the server's words for none yet: shown
 * as it is.
 */
export function phaseWithReason(
  placement: IPlacement,
  trans: TranslationBundle
): string {
  const label = phaseLabel(placement.phase, trans);
  return placement.phase === 'pending' && placement.detail
    ? trans.__('%1: %2', label, placement.detail)
    : label;
}

/**
 * Whole seconds from an ISO time to `now` (ms since the epoch), never
 * negative; `null` if the time cannot be read.
 */
export function secondsSince(iso: string, now: number): number | null {
  const since = Date.parse(iso);
  if (Number.isNaN(since)) {
    return null;
  }
  return Math.max(0, Math.round((now - since) / 1000));
}

/**
 * A duration in seconds as shown next to a phase ("12 s").
 */
export function duration(seconds: number, trans: TranslationBundle): string {
  return trans.__('%1 s', seconds);
}

/**
 * The Running panel's detail: "ready", "waiting-for-launcher (12 s)" (time in
 * the phase while it is not settled), "pending: Resources (12 s)".
 */
export function phaseText(
  placement: IPlacement,
  now: number,
  trans: TranslationBundle
): string {
  const text = phaseWithReason(placement, trans);
  if (!SETTLED_PHASES.has(placement.phase)) {
    const seconds = secondsSince(placement.phase_since, now);
    if (seconds !== null) {
      return trans.__('%1 (%2)', text, duration(seconds, trans));
    }
  }
  return text;
}
