/**
 * Every text the extension shows about a kernel's placement: status bar label
 * and tooltip, Running panel label parts, phase texts, durations, Slurm's time
 * left, warm pool lines.
 *
 * Pure functions: the same input gives the same text (the time is an argument),
 * and every user-visible word goes through the translation bundle `trans`
 * (`translator.load('jupyter_remote_kernels')`).
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type {
  IPlacement,
  IPool,
  IRemoteKernel,
  KernelPhase,
  PoolStatus
} from './model';
import { SETTLED_PHASES } from './model';

/**
 * The translation domain of the extension.
 */
export const TRANSLATION_DOMAIN = 'jupyter_remote_kernels';

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
    case 'queued':
      return trans.__('queued');
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
 * The kind of placement as shown in the Running panel's badge.
 */
export function kindLabel(
  kind: IPlacement['kind'],
  trans: TranslationBundle
): string {
  switch (kind) {
    case 'local':
      return trans.__('local');
    case 'ssh':
      return trans.__('ssh');
    case 'yarn':
      return trans.__('yarn');
    case 'slurm':
      return trans.__('slurm');
    case 'plain':
      return trans.__('plain');
    default:
      return String(kind);
  }
}

/**
 * A phase with what it waits for, where that is the scheduler's word: Slurm's
 * `pending` phase with its reason, "pending (Resources)". Other phases alone.
 *
 * The reason is Slurm's (Resources, Priority, QOSMaxJobsPerUser...), or the
 * server's words for none yet: shown as it is.
 */
export function phaseWithReason(
  placement: IPlacement,
  trans: TranslationBundle
): string {
  const label = phaseLabel(placement.phase, trans);
  return placement.phase === 'pending' && placement.detail
    ? trans.__('%1 (%2)', label, placement.detail)
    : label;
}

/**
 * Slurm's time left ("1:52:00", "59:30", "2-03:00:00") in a few characters:
 * "1:52" (hours:minutes), "2-03:00" (days-hours:minutes), "59 min", "30 s".
 * `null` when there is no limit to show ("UNLIMITED", "INVALID", "NOT_SET",
 * absent) or the text cannot be read.
 */
export function shortTimeLeft(
  timeLeft: string | null | undefined,
  trans: TranslationBundle
): string | null {
  // squeue's %L: [days-][hours:]minutes:seconds
  const match = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d{2})$/.exec(
    (timeLeft ?? '').trim()
  );
  if (!match) {
    return null;
  }
  const [days, hours, minutes, seconds] = match
    .slice(1)
    .map(part => (part === undefined ? 0 : Number(part)));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (days > 0) {
    return trans.__('%1-%2:%3', days, pad(hours), pad(minutes));
  }
  if (hours > 0) {
    return trans.__('%1:%2', hours, pad(minutes));
  }
  if (minutes > 0) {
    return trans.__('%1 min', minutes);
  }
  return duration(seconds, trans);
}

/**
 * A Slurm kernel's place: "job 4242 on jrk-host2", "job 4242" (no node yet),
 * "partition debug" (not submitted yet), "Slurm".
 */
function slurmWhere(placement: IPlacement, trans: TranslationBundle): string {
  if (placement.job_id) {
    return placement.host && placement.phase !== 'pending'
      ? trans.__('job %1 on %2', placement.job_id, placement.host)
      : trans.__('job %1', placement.job_id);
  }
  return placement.partition
    ? trans.__('partition %1', placement.partition)
    : trans.__('Slurm');
}

/**
 * Shorten "application_1700000000000_0042" to "application_…_0042".
 */
export function shortAppId(appId: string): string {
  const match = /^application_\d+_(\d+)$/.exec(appId);
  return match ? `application_…_${match[1]}` : appId;
}

/**
 * Where a kernel runs, in a few characters: host, YARN application or queue,
 * Slurm job and node.
 */
export function where(placement: IPlacement, trans: TranslationBundle): string {
  if (placement.kind === 'slurm') {
    return slurmWhere(placement, trans);
  }
  if (placement.kind === 'yarn') {
    if (placement.app_id) {
      return shortAppId(placement.app_id);
    }
    return placement.queue
      ? trans.__('queue %1', placement.queue)
      : trans.__('YARN');
  }
  return placement.host ?? placement.ip ?? placement.provisioner;
}

/**
 * The status bar text: "python · node-3", "spark · application_…_0042 (queued)",
 * "slurm · job 4242 on jrk-host2 (1:52 left)", "slurm · job 4242 pending
 * (Resources)".
 */
export function statusLabel(
  model: IRemoteKernel,
  placement: IPlacement,
  trans: TranslationBundle
): string {
  const text = trans.__('%1 · %2', model.kernel_name, where(placement, trans));
  if (placement.kind === 'slurm' && placement.phase === 'pending') {
    return trans.__('%1 %2', text, phaseWithReason(placement, trans));
  }
  if (placement.phase === 'ready') {
    const left =
      placement.kind === 'slurm'
        ? shortTimeLeft(placement.time_left, trans)
        : null;
    return left ? trans.__('%1 (%2 left)', text, left) : text;
  }
  return trans.__('%1 (%2)', text, phaseLabel(placement.phase, trans));
}

/**
 * The tooltip's name of the resource manager's state field.
 */
function stateName(kind: IPlacement['kind'], trans: TranslationBundle): string {
  switch (kind) {
    case 'yarn':
      return trans.__('YARN state');
    case 'slurm':
      return trans.__('Slurm state');
    default:
      return trans.__('State');
  }
}

/**
 * The whole placement, one field a line (status bar and Running panel tooltip).
 */
export function tooltip(
  model: IRemoteKernel,
  placement: IPlacement,
  trans: TranslationBundle
): string {
  const lines: [string, string | number | null][] = [
    [
      trans.__('Kernel'),
      trans.__('%1 (%2)', model.display_name, model.kernel_id)
    ],
    [
      trans.__('Provisioner'),
      trans.__(
        '%1 (%2)',
        placement.provisioner,
        kindLabel(placement.kind, trans)
      )
    ],
    [
      trans.__('Phase'),
      trans.__(
        '%1 since %2',
        phaseLabel(placement.phase, trans),
        placement.phase_since
      )
    ],
    [
      placement.kind === 'slurm' ? trans.__('Node') : trans.__('Host'),
      placement.host
    ],
    [trans.__('IP'), placement.ip],
    [trans.__('PID'), placement.pid],
    [trans.__('YARN application'), placement.app_id],
    [trans.__('Queue'), placement.queue],
    [trans.__('Slurm job'), placement.job_id],
    [trans.__('Partition'), placement.partition],
    // Slurm's own text, as squeue shows it ("1:52:00", "UNLIMITED").
    [trans.__('Time left'), placement.time_left],
    [stateName(placement.kind, trans), placement.state],
    [trans.__('Tracking URL'), placement.tracking_url],
    [trans.__('Detail'), placement.detail || null],
    [trans.__('Error'), placement.error]
  ];
  return lines
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => trans.__('%1: %2', name, value))
    .join('\n');
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
 * The Running panel's detail: "ready", "queued · ACCEPTED",
 * "waiting-for-launcher (12 s)" (time in the phase while it is not settled),
 * "pending (Resources) (12 s)", "ready (1:52 left)" (a Slurm job's time left).
 */
export function phaseText(
  placement: IPlacement,
  now: number,
  trans: TranslationBundle
): string {
  let text = phaseWithReason(placement, trans);
  if (placement.state && placement.kind === 'yarn') {
    // The YARN state is YARN's word (ACCEPTED, RUNNING...): not translated.
    text = trans.__('%1 · %2', text, placement.state);
  }
  if (placement.kind === 'slurm' && placement.phase === 'ready') {
    const left = shortTimeLeft(placement.time_left, trans);
    if (left) {
      text = trans.__('%1 (%2 left)', text, left);
    }
  }
  if (!SETTLED_PHASES.has(placement.phase)) {
    const seconds = secondsSince(placement.phase_since, now);
    if (seconds !== null) {
      text = trans.__('%1 (%2)', text, duration(seconds, trans));
    }
  }
  return text;
}

/**
 * What the Running panel's row shows of a kernel, where first (the sidebar is
 * narrow; the name is in the tooltip too).
 */
export interface IRowParts {
  /**
   * Host name or address, if the kernel has one.
   */
  host: string | null;
  /**
   * YARN application id, if any, and the link to its tracking page.
   */
  app: { id: string; url: string | null } | null;
  /**
   * The Slurm job ("job 4242"), if any.
   */
  job: string | null;
  /**
   * Kind badge ("ssh") and its title (the provisioner).
   */
  kind: { label: string; title: string } | null;
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
      host: null,
      app: null,
      job: null,
      kind: null,
      name: model.display_name,
      title: model.display_name,
      detail: ''
    };
  }
  return {
    host: placement.host ?? placement.ip ?? null,
    app: placement.app_id
      ? { id: placement.app_id, url: placement.tracking_url }
      : null,
    job: placement.job_id ? trans.__('job %1', placement.job_id) : null,
    kind: {
      label: kindLabel(placement.kind, trans),
      title: placement.provisioner
    },
    name: model.display_name,
    title: tooltip(model, placement, trans),
    detail: phaseText(placement, now, trans)
  };
}

/**
 * The Running panel section's own texts.
 */
export function sectionTexts(trans: TranslationBundle): {
  name: string;
  shutdownAllLabel: string;
  shutdownAllConfirmationText: string;
} {
  return {
    name: trans.__('Remote kernels'),
    shutdownAllLabel: trans.__('Shut Down All Remote Kernels'),
    shutdownAllConfirmationText: trans.__(
      'Are you sure you want to permanently shut down all running kernels?'
    )
  };
}

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
   * where the kernelspec has pools for several users: "Python (SSH) · alice".
   */
  name: string;
  /**
   * The text next to the line: "2 / 2 ready", "1 / 2 ready · 1 launching",
   * "0 / 2 ready · 1 launching · a pool kernel is pending (Resources)",
   * "0 / 2 ready · cannot fill: queue full".
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
    .map(model => (model.placement ? where(model.placement, trans) : null))
    .filter((place): place is string => !!place);
  const lines: [string, string | number | null][] = [
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
    title: lines
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([field, value]) => trans.__('%1: %2', field, value))
      .join('\n')
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
