import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IPool, IRemoteKernel } from './model';

export * from './model';

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

/**
 * Fetch the server's warm pools; empty if the server has none or is older
 * than the pools (it answers 404).
 */
export async function fetchPools(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<IPool[]> {
  return (await requestJSON<IPool[]>('pools', settings)) ?? [];
}
