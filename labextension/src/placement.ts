/**
 * The texts of a kernel's placement: the status bar label, the tooltip, the
 * Running panel row, the backend's details.
 *
 * The backend writes `where` and owns `details`: both are shown as they come,
 * the details as "key with spaces: value", a value that is a web address as a
 * link. Nothing here tells one backend from another.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { DetailValue, IPlacement, IRemoteKernel } from './model';
import { phaseLabel, phaseText, phaseWithReason } from './phase';
import { fieldLines } from './texts';

/**
 * One of the backend's details as shown: "console url" for `console_url`.
 */
export interface IDetail {
  /**
   * The backend's key (snake case).
   */
  key: string;
  /**
   * The key with spaces for underscores: "console url".
   */
  label: string;
  /**
   * The value as text.
   */
  value: string;
  /**
   * The value, if it is a web address (http:// or https://): a link.
   */
  href: string | null;
}

/**
 * Whether a detail's value is a web address to show as a link.
 */
export function isLink(value: DetailValue | undefined): value is string {
  return typeof value === 'string' && /^https?:\/\/\S+$/i.test(value.trim());
}

/**
 * A detail's key as shown: underscores as spaces ("console url").
 */
export function detailLabel(key: string): string {
  return key.replace(/_+/g, ' ').trim();
}

/**
 * The backend's details in the server's order, those without a value (null,
 * empty) left out.
 */
export function detailList(placement: IPlacement): IDetail[] {
  const details = placement.details ?? {};
  return Object.keys(details)
    .filter(key => {
      const value = details[key];
      return value !== null && value !== undefined && value !== '';
    })
    .map(key => {
      const value = details[key];
      return {
        key,
        label: detailLabel(key),
        value: String(value),
        href: isLink(value) ? value.trim() : null
      };
    });
}

/**
 * Where a kernel runs, in a few words: the backend's `where`; from a server
 * that sent none, the host, else the address, else the provisioner.
 */
export function whereText(placement: IPlacement): string {
  return (
    placement.where || placement.host || placement.ip || placement.provisioner
  );
}

/**
 * The status bar text: "Python (Acme) · acme · node-3" once ready, else with
 * the phase: "Python (Acme) · acme · node-3 (waiting-for-launcher)",
 * "Python (batch) · batch · job 77 (pending: Resources)".
 *
 * The kernel's name is the display name the user picked it by.
 */
export function statusLabel(
  model: IRemoteKernel,
  placement: IPlacement,
  trans: TranslationBundle
): string {
  const text = trans.__(
    '%1 · %2',
    model.display_name || model.kernel_name,
    whereText(placement)
  );
  return placement.phase === 'ready'
    ? text
    : trans.__('%1 (%2)', text, phaseWithReason(placement, trans));
}

/**
 * The whole placement, one field a line (status bar and Running panel
 * tooltip): the core's fields, then the backend's details in its order.
 */
export function tooltip(
  model: IRemoteKernel,
  placement: IPlacement,
  trans: TranslationBundle
): string {
  return fieldLines(
    [
      [
        trans.__('Kernel'),
        trans.__('%1 (%2)', model.display_name, model.kernel_id)
      ],
      [
        trans.__('Provisioner'),
        placement.kind
          ? trans.__('%1 (%2)', placement.provisioner, placement.kind)
          : placement.provisioner
      ],
      [trans.__('Where'), whereText(placement)],
      [
        trans.__('Phase'),
        trans.__(
          '%1 since %2',
          phaseLabel(placement.phase, trans),
          placement.phase_since
        )
      ],
      [trans.__('Host'), placement.host],
      [trans.__('IP'), placement.ip],
      [trans.__('PID'), placement.pid],
      // The resource manager's own word (RUNNING, PENDING...): not translated.
      [trans.__('State'), placement.state],
      // The backend's facts: its keys and values, not translated.
      ...detailList(placement).map(({ label, value }): [string, string] => [
        label,
        value
      ]),
      [trans.__('Detail'), placement.detail],
      [trans.__('Error'), placement.error]
    ],
    trans
  );
}

/**
 * What the Running panel's row shows of a kernel, where first (the sidebar is
 * narrow; everything is in the tooltip too).
 */
export interface IRowParts {
  /**
   * Where it runs (the backend's words), if it has a placement.
   */
  where: string | null;
  /**
   * The details that are web addresses: links, named by their key, titled
   * "key: address".
   */
  links: { key: string; label: string; href: string; title: string }[];
  /**
   * The kernelspec's display name.
   */
  name: string;
  /**
   * The row's tooltip.
   */
  title: string;
  /**
   * The text next to the row: phase and time in it.
   */
  detail: string;
}

/**
 * The texts of one Running panel row.
 */
export function rowParts(
  model: IRemoteKernel,
  now: number,
  trans: TranslationBundle
): IRowParts {
  const placement = model.placement;
  if (!placement) {
    return {
      where: null,
      links: [],
      name: model.display_name,
      title: model.display_name,
      detail: ''
    };
  }
  return {
    where: whereText(placement),
    links: detailList(placement)
      .filter(d => d.href !== null)
      .map(d => ({
        key: d.key,
        label: d.label,
        href: d.href!,
        title: trans.__('%1: %2', d.label, d.href)
      })),
    name: model.display_name,
    title: tooltip(model, placement, trans),
    detail: phaseText(placement, now, trans)
  };
}
