import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

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

const API_PATH = 'api/remote-kernels';

async function requestJSON<T>(
  path: string,
  settings: ServerConnection.ISettings
): Promise<T | null> {
  const url = URLExt.join(settings.baseUrl, API_PATH, path);
  const response = await ServerConnection.makeRequest(
    url,
    { method: 'GET' },
    settings
  );
  if (response.status === 404) {
    return null;
  }
  if (!response.ok) {
    throw await ServerConnection.ResponseError.create(response);
  }
  return (await response.json()) as T;
}

/**
 * Fetch the placement of one kernel; `null` if the server does not know it
 * (or the server extension is not enabled).
 */
export function fetchRemoteKernel(
  kernelId: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<IRemoteKernel | null> {
  return requestJSON<IRemoteKernel>(encodeURIComponent(kernelId), settings);
}

/**
 * Fetch every kernel the server extension knows, including ones still launching.
 */
export async function fetchRemoteKernels(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<IRemoteKernel[]> {
  return (await requestJSON<IRemoteKernel[]>('', settings)) ?? [];
}
