/**
 * The server extension's kernel and placement models (`/api/remote-kernels`).
 *
 * No runtime dependency: the formatting and the poller use these, and jest
 * tests them without a browser or a server.
 */

/**
 * The launch phases, a fixed set every backend uses (the server's `PHASES`,
 * in the order a launch goes through them; not every launch uses all).
 */
export const PHASES = [
  'starting',
  'submitting',
  'pending',
  'waiting-for-launcher',
  'ready',
  'pooled',
  'failed',
  'shutting-down',
  'dead'
] as const;

/**
 * Launch phase of a kernel, as reported by the server extension.
 */
export type KernelPhase = (typeof PHASES)[number];

/**
 * A backend-owned fact of a placement: text, a number, or null (not known
 * yet). Text starting with http:// or https:// is shown as a link.
 */
export type DetailValue = string | number | null;

/**
 * Where and how a kernel runs, as the server describes it
 * (`placement.schema.json` is its JSON Schema, generated from the server's
 * model).
 *
 * The extension knows no backend: it shows `where`, the phase and the
 * `details` as they come.
 */
export interface IPlacement {
  /**
   * The kernel provisioner's entry point name.
   */
  provisioner: string;
  /**
   * The backend's name: shown as it is, never interpreted.
   */
  kind: string;
  /**
   * Host name (the node a cluster job runs on), if known.
   */
  host: string | null;
  ip: string | null;
  pid: number | null;
  /**
   * The resource manager's own word for the job's state, if it has one.
   */
  state: string | null;
  phase: KernelPhase;
  phase_since: string;
  /**
   * What the phase waits for; in the `pending` phase, the scheduler's reason.
   */
  detail: string;
  error: string | null;
  /**
   * Where the kernel runs, in a few words the backend wrote: shown as it is.
   */
  where: string;
  /**
   * The backend's own facts (ids, queues, links...), in display order: snake
   * case keys, shown as "key with spaces: value".
   */
  details: { [key: string]: DetailValue };
}

/**
 * One kernel as listed by `GET /api/remote-kernels`.
 */
export interface IRemoteKernel {
  kernel_id: string;
  kernel_name: string;
  display_name: string;
  placement: IPlacement | null;
  /**
   * The warm pool a pool kernel (not handed out yet) belongs to; absent, or
   * null, for the users' kernels and on servers without pools.
   */
  pool?: IPoolKey | null;
}

/**
 * Which pool: a kernelspec and the user its kernels run as.
 */
export interface IPoolKey {
  kernel_name: string;
  /**
   * The user the pool's kernels run as; null for the server's own user.
   */
  user: string | null;
}

/**
 * How full a warm pool is: `full` (ready == target), `filling` (kernels
 * launching), `failing` (it cannot be filled; `detail` says why).
 */
export type PoolStatus = 'full' | 'filling' | 'failing';

/**
 * One warm pool as listed by `GET /api/remote-kernels/pools`.
 */
export interface IPool extends IPoolKey {
  display_name: string;
  /**
   * How many idle kernels the pool keeps (the kernelspec's `pool_size`).
   */
  target: number;
  /**
   * Kernels started and idle, ready to be handed out.
   */
  ready: number;
  /**
   * Kernels being launched for it.
   */
  launching: number;
  status: PoolStatus;
  /**
   * Why it cannot be filled; empty otherwise.
   */
  detail: string;
}

/**
 * Whether a kernel of `GET /api/remote-kernels` is a warm pool's kernel (not
 * handed out to anyone yet), not a user's.
 */
export function isPoolKernel(model: IRemoteKernel): boolean {
  return model.placement?.phase === 'pooled' || !!model.pool;
}

/**
 * The users' kernels of a list: pool kernels left out.
 */
export function userKernels(
  models: ReadonlyArray<IRemoteKernel>
): IRemoteKernel[] {
  return models.filter(model => !isPoolKernel(model));
}

/**
 * Phases after which a placement no longer changes by itself.
 */
export const SETTLED_PHASES: ReadonlySet<KernelPhase> = new Set<KernelPhase>([
  'ready',
  'pooled',
  'failed',
  'dead'
]);

/**
 * The kernel the status bar follows: the session's kernel `kernelId`, else
 * the newest kernel of kernelspec `launching` still launching (the session
 * has no kernel id before its launch is done) that is a user's: a warm pool
 * refilling launches the same kernelspec, and its kernels are nobody's yet.
 */
export function statusKernel(
  models: ReadonlyArray<IRemoteKernel>,
  kernelId: string | undefined,
  launching: string | undefined
): IRemoteKernel | null {
  if (kernelId) {
    return models.find(m => m.kernel_id === kernelId) ?? null;
  }
  if (launching) {
    return (
      userKernels(models)
        .filter(
          m =>
            m.kernel_name === launching &&
            m.placement &&
            !SETTLED_PHASES.has(m.placement.phase)
        )
        .pop() ?? null
    );
  }
  return null;
}
