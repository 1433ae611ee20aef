/**
 * The server extension's kernel and placement models (`/api/remote-kernels`).
 *
 * No runtime dependency: the formatting and the poller use these, and jest
 * tests them without a browser or a server.
 */

/**
 * Launch phase of a kernel, as reported by the server extension.
 */
export type KernelPhase =
  | 'starting'
  | 'submitting'
  | 'queued'
  | 'waiting-for-launcher'
  | 'ready'
  | 'failed'
  | 'shutting-down'
  | 'dead';

/**
 * Where and how a kernel runs.
 */
export interface IPlacement {
  provisioner: string;
  kind: 'local' | 'ssh' | 'yarn' | 'plain';
  host: string | null;
  ip: string | null;
  pid: number | null;
  app_id: string | null;
  queue: string | null;
  tracking_url: string | null;
  state: string | null;
  phase: KernelPhase;
  phase_since: string;
  detail: string;
  error: string | null;
}

/**
 * One kernel as listed by `GET /api/remote-kernels`.
 */
export interface IRemoteKernel {
  kernel_id: string;
  kernel_name: string;
  display_name: string;
  placement: IPlacement | null;
}

/**
 * Phases after which a placement no longer changes by itself.
 */
export const SETTLED_PHASES: ReadonlySet<KernelPhase> = new Set<KernelPhase>([
  'ready',
  'failed',
  'dead'
]);
