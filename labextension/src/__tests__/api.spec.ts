import { ServerConnection } from '@jupyterlab/services';

import { fetchPools, fetchRemoteKernels } from '../api';
import type { IPool } from '../model';

const POOL: IPool = {
  kernel_name: 'remote-python',
  display_name: 'Python',
  user: null,
  target: 2,
  ready: 1,
  launching: 1,
  status: 'filling',
  detail: ''
};

/**
 * Server settings whose requests `answer` answers; the URLs asked are kept.
 */
function settings(answer: (url: string) => Response): {
  settings: ServerConnection.ISettings;
  urls: string[];
} {
  const urls: string[] = [];
  const fetch = async (input: RequestInfo | URL): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    urls.push(url);
    return answer(url);
  };
  return {
    settings: ServerConnection.makeSettings({
      baseUrl: 'http://127.0.0.1:8888/base/',
      fetch: fetch as typeof globalThis.fetch
    }),
    urls
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('fetchPools', () => {
  it('asks /api/remote-kernels/pools and gives its list', async () => {
    const server = settings(() => json([POOL]));
    expect(await fetchPools(server.settings)).toEqual([POOL]);
    expect(server.urls).toHaveLength(1);
    expect(new URL(server.urls[0]).pathname).toBe(
      '/base/api/remote-kernels/pools'
    );
  });

  it('gives no pools when the server has no such endpoint (404)', async () => {
    const server = settings(() =>
      json({ message: 'Not Found', reason: null }, 404)
    );
    expect(await fetchPools(server.settings)).toEqual([]);
  });

  it('fails on any other error', async () => {
    const server = settings(() => json({ message: 'boom' }, 500));
    await expect(fetchPools(server.settings)).rejects.toThrow();
  });
});

describe('fetchRemoteKernels', () => {
  it('asks /api/remote-kernels', async () => {
    const server = settings(() => json([]));
    expect(await fetchRemoteKernels(server.settings)).toEqual([]);
    expect(new URL(server.urls[0]).pathname).toBe('/base/api/remote-kernels');
  });
});
