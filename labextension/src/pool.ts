/**
 * The texts of the Running panel's "Warm pool" lines: how full each pool is,
 * why it cannot be filled, where its kernels are.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IPool, IRemoteKernel, PoolStatus } from './model';
import { whereText } from './placement';
import { FieldLine, fieldLines } from './texts';

/**
 * A pool status as shown to the user.
 */
export function poolStatusLabel(
  status: PoolStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'full':
      return trans.__('full');
    case 'filling':
      return trans.__('filling');
    case 'failing':
      return trans.__('failing');
    default:
      return String(status); // A status of a newer server: show it as it is.
  }
}

/**
 * What the Running panel's "Warm pool" line shows of a pool.
 */
export interface IPoolParts {
  /**
   * "Warm pool".
   */
  label: string;
  /**
   * The kernelspec's display name, with the user the pool's kernels run as
   * where the kernelspec has pools for several users: "Python (Acme) · alice".
   */
  name: string;
  /**
   * The text next to the line: "2 / 2 ready", "1 / 2 ready · 1 launching",
   * "0 / 2 ready · 1 launching · a pool kernel is pending (Resources)",
   * "0 / 2 ready · cannot fill: no host answers".
   */
  detail: string;
  /**
   * The line's tooltip: every field, one a line, and the pool kernels' hosts.
   */
  title: string;
}

/**
 * The texts of a pool's "Warm pool" line. `kernels` are the pool's own
 * kernels (not handed out yet), for their places in the tooltip; `withUser`
 * adds the user its kernels run as to the name (tell pools of one kernelspec
 * apart).
 */
export function poolParts(
  pool: IPool,
  kernels: ReadonlyArray<IRemoteKernel>,
  trans: TranslationBundle,
  withUser = false
): IPoolParts {
  const name =
    withUser && pool.user
      ? trans.__('%1 · %2', pool.display_name, pool.user)
      : pool.display_name;
  let detail = trans.__('%1 / %2 ready', pool.ready, pool.target);
  if (pool.status === 'failing') {
    detail = pool.detail
      ? trans.__('%1 · cannot fill: %2', detail, pool.detail)
      : trans.__('%1 · %2', detail, poolStatusLabel(pool.status, trans));
  } else {
    if (pool.launching > 0) {
      detail = trans.__('%1 · %2 launching', detail, pool.launching);
    }
    // What its launches wait for (the scheduler's reason): the server's words.
    if (pool.detail) {
      detail = trans.__('%1 · %2', detail, pool.detail);
    }
  }
  const places = kernels
    .map(model => (model.placement ? whereText(model.placement) : null))
    .filter((place): place is string => !!place);
  const lines: FieldLine[] = [
    [
      trans.__('Warm pool'),
      trans.__('%1 (%2)', pool.display_name, pool.kernel_name)
    ],
    [trans.__('User'), pool.user],
    [trans.__('Ready'), trans.__('%1 of %2', pool.ready, pool.target)],
    [trans.__('Launching'), pool.launching],
    [trans.__('Status'), poolStatusLabel(pool.status, trans)],
    [trans.__('Kernels'), places.length ? places.join(', ') : null],
    [trans.__('Detail'), pool.detail || null]
  ];
  return {
    label: trans.__('Warm pool'),
    name,
    detail,
    title: fieldLines(lines, trans)
  };
}

/**
 * The "Warm pool" lines of every pool, in the server's order: each with its
 * own kernels of `models` (the `/api/remote-kernels` list), and the user in
 * the name where a kernelspec has pools for several users.
 */
export function poolRows(
  pools: ReadonlyArray<IPool>,
  models: ReadonlyArray<IRemoteKernel>,
  trans: TranslationBundle
): IPoolParts[] {
  const count = new Map<string, number>();
  for (const pool of pools) {
    count.set(pool.kernel_name, (count.get(pool.kernel_name) ?? 0) + 1);
  }
  return pools.map(pool => {
    const kernels = models.filter(
      model =>
        model.pool &&
        model.pool.kernel_name === pool.kernel_name &&
        (model.pool.user ?? null) === (pool.user ?? null)
    );
    const withUser = (count.get(pool.kernel_name) ?? 0) > 1;
    return poolParts(pool, kernels, trans, withUser);
  });
}
