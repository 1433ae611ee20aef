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
  | 'pending'
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
  kind: 'local' | 'ssh' | 'yarn' | 'slurm' | 'plain';
  /**
   * Host name; for Slurm, the node the job runs on.
   */
  host: string | null;
  ip: string | null;
  pid: number | null;
  app_id: string | null;
  queue: string | null;
  tracking_url: string | null;
  /**
   * Slurm job id, partition, and time left as Slurm writes it ("1:52:00",
   * "59:30", "2-03:00:00", "UNLIMITED", "INVALID").
   */
  job_id: string | null;
  partition: string | null;
  time_left: string | null;
  /**
   * The resource manager's own state of the job (YARN: ACCEPTED, RUNNING...;
   * Slurm: PENDING, RUNNING...).
   */
  state: string | null;
  phase: KernelPhase;
  phase_since: string;
  /**
   * What the phase waits for; in the `pending` phase, Slurm's reason
   * ("Resources", "Priority"...).
   */
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
