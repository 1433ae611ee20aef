import type { IPool, IRemoteKernel, KernelPhase } from '../model';
import { PlacementPoller } from '../poller';
import { onHost } from './fixtures';

function kernel(id: string, phase: KernelPhase = 'ready'): IRemoteKernel {
  return {
    kernel_id: id,
    kernel_name: 'python',
    display_name: 'Python',
    placement: { ...onHost, phase }
  };
}

function pool(fields: Partial<IPool> = {}): IPool {
  return {
    kernel_name: 'python',
    display_name: 'Python',
    user: null,
    target: 2,
    ready: 2,
    launching: 0,
    status: 'full',
    detail: '',
    ...fields
  };
}

/**
 * A server's lists: what `fetch` and `fetchPools` answer, and how often they
 * were asked.
 */
class FakeServer {
  kernels: IRemoteKernel[] = [];
  pools: IPool[] = [];
  calls = 0;
  poolCalls = 0;
  fail = false;
  failPools = false;
  fetch = async (): Promise<IRemoteKernel[]> => {
    this.calls++;
    if (this.fail) {
      throw new Error('server down');
    }
    return this.kernels.map(k => ({ ...k }));
  };
  fetchPools = async (): Promise<IPool[]> => {
    this.poolCalls++;
    if (this.failPools) {
      throw new Error('pools broken');
    }
    return this.pools.map(p => ({ ...p }));
  };
}

const INTERVALS = { fast: 2000, slow: 15000 };

describe('PlacementPoller', () => {
  let server: FakeServer;
  let poller: PlacementPoller;
  let changes: number;

  function start(options: Partial<PlacementPoller.IOptions> = {}): void {
    poller = new PlacementPoller({
      fetch: server.fetch,
      intervals: INTERVALS,
      standby: 'never',
      ...options
    });
    poller.changed.connect(() => changes++);
  }

  beforeEach(() => {
    jest.useFakeTimers();
    server = new FakeServer();
    changes = 0;
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    poller?.dispose();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('fetches at once, then every slow interval while all is settled', async () => {
    server.kernels = [kernel('a')];
    start();
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls).toBe(1);
    expect(poller.models.map(m => m.kernel_id)).toEqual(['a']);
    expect(changes).toBe(1);
    await jest.advanceTimersByTimeAsync(INTERVALS.slow - 10);
    expect(server.calls).toBe(1);
    await jest.advanceTimersByTimeAsync(10);
    expect(server.calls).toBe(2);
    // Nothing changed: the views are not told again.
    expect(changes).toBe(1);
  });

  it('polls fast while a kernel launches, and tells the views each time', async () => {
    server.kernels = [kernel('a', 'waiting-for-launcher')];
    start();
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersByTimeAsync(3 * INTERVALS.fast);
    expect(server.calls).toBe(4);
    // Its phase time grows: every fetch re-renders.
    expect(changes).toBe(4);
    server.kernels = [kernel('a', 'ready')];
    await jest.advanceTimersByTimeAsync(INTERVALS.fast);
    expect(server.calls).toBe(5);
    expect(poller.models[0].placement!.phase).toBe('ready');
    await jest.advanceTimersByTimeAsync(INTERVALS.slow - 10);
    expect(server.calls).toBe(5);
  });

  it('polls fast for a while after keepFast', async () => {
    start();
    await jest.advanceTimersByTimeAsync(0);
    poller.keepFast(5000);
    await poller.refresh();
    await jest.advanceTimersByTimeAsync(0);
    const before = server.calls;
    await jest.advanceTimersByTimeAsync(6000);
    expect(server.calls - before).toBe(3); // at 2 s, 4 s, 6 s; then slow
    await jest.advanceTimersByTimeAsync(INTERVALS.slow - 10);
    expect(server.calls - before).toBe(3);
  });

  it('polls fast while a view asks for it', async () => {
    let launching = true;
    start();
    const hold = poller.pollFastWhile(() => launching);
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersByTimeAsync(2 * INTERVALS.fast);
    expect(server.calls).toBe(3);
    launching = false;
    await jest.advanceTimersByTimeAsync(INTERVALS.fast);
    expect(server.calls).toBe(4);
    await jest.advanceTimersByTimeAsync(INTERVALS.slow - 10);
    expect(server.calls).toBe(4);
    hold.dispose();
  });

  it('makes one fetch of a burst of refreshSoon calls', async () => {
    start({ coalesceMs: 100 });
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls).toBe(1);
    for (let i = 0; i < 5; i++) {
      poller.refreshSoon();
      await jest.advanceTimersByTimeAsync(20);
    }
    expect(server.calls).toBe(1);
    await jest.advanceTimersByTimeAsync(100);
    expect(server.calls).toBe(2);
  });

  it('drops the answer of a fetch a newer one overtook', async () => {
    const answers: ((models: IRemoteKernel[]) => void)[] = [];
    start({
      auto: false,
      fetch: () => new Promise(resolve => answers.push(resolve))
    });
    await poller.refresh();
    await jest.advanceTimersByTimeAsync(0);
    await poller.refresh();
    await jest.advanceTimersByTimeAsync(0);
    expect(answers).toHaveLength(2);
    answers[1]([kernel('new')]);
    await jest.advanceTimersByTimeAsync(0);
    answers[0]([kernel('old')]);
    await jest.advanceTimersByTimeAsync(0);
    expect(poller.models.map(m => m.kernel_id)).toEqual(['new']);
    expect(changes).toBe(1);
  });

  it('keeps the last list when a fetch fails, and backs off', async () => {
    server.kernels = [kernel('a', 'starting')];
    start();
    await jest.advanceTimersByTimeAsync(0);
    server.fail = true;
    await jest.advanceTimersByTimeAsync(INTERVALS.fast);
    expect(server.calls).toBe(2);
    expect(poller.models.map(m => m.kernel_id)).toEqual(['a']);
    expect(console.warn).toHaveBeenCalled();
    // Failed fetches wait longer (at random), never beyond the slow interval.
    await jest.advanceTimersByTimeAsync(10 * INTERVALS.slow);
    expect(server.calls).toBeGreaterThanOrEqual(2 + 10);
    server.fail = false;
    server.kernels = [];
    await jest.advanceTimersByTimeAsync(INTERVALS.slow);
    expect(poller.models).toEqual([]);
  });

  it('takes new intervals from the settings at once', async () => {
    start();
    await jest.advanceTimersByTimeAsync(0);
    poller.setIntervals({ fast: 500, slow: 3000 });
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls).toBe(2); // fetched at once, not after 15 s
    await jest.advanceTimersByTimeAsync(3000);
    expect(server.calls).toBe(3);
    poller.setIntervals({ fast: 500, slow: 3000 }); // the same: no fetch
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls).toBe(3);
  });

  it('has no pools when not told how to fetch them', async () => {
    server.pools = [pool()];
    start();
    await jest.advanceTimersByTimeAsync(0);
    expect(server.poolCalls).toBe(0);
    expect(poller.pools).toEqual([]);
  });

  it('fetches the pools with the kernels, and tells the views of a change', async () => {
    server.kernels = [kernel('a')];
    server.pools = [pool({ ready: 1, status: 'full' })];
    start({ fetchPools: server.fetchPools });
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls).toBe(1);
    expect(server.poolCalls).toBe(1);
    expect(poller.pools).toEqual([pool({ ready: 1 })]);
    expect(changes).toBe(1);
    // Only the pool changed: the views are told.
    server.pools = [pool({ ready: 2 })];
    await jest.advanceTimersByTimeAsync(INTERVALS.slow);
    expect(server.poolCalls).toBe(2);
    expect(poller.pools[0].ready).toBe(2);
    expect(changes).toBe(2);
    // Nothing changed: they are not.
    await jest.advanceTimersByTimeAsync(INTERVALS.slow);
    expect(changes).toBe(2);
  });

  it('polls fast while a pool fills, slow once it waits full', async () => {
    server.pools = [pool({ ready: 0, launching: 2, status: 'filling' })];
    start({ fetchPools: server.fetchPools });
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersByTimeAsync(2 * INTERVALS.fast);
    expect(server.poolCalls).toBe(3);
    // Its kernels wait, pooled: a settled phase.
    server.kernels = [kernel('p1', 'pooled'), kernel('p2', 'pooled')];
    server.pools = [pool()];
    await jest.advanceTimersByTimeAsync(INTERVALS.fast);
    expect(server.poolCalls).toBe(4);
    await jest.advanceTimersByTimeAsync(INTERVALS.slow - 10);
    expect(server.poolCalls).toBe(4);
    await jest.advanceTimersByTimeAsync(10);
    expect(server.poolCalls).toBe(5);
  });

  it('polls slow while a pool cannot be filled', async () => {
    server.pools = [
      pool({ ready: 0, status: 'failing', detail: 'queue full' })
    ];
    start({ fetchPools: server.fetchPools });
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersByTimeAsync(INTERVALS.slow - 10);
    expect(server.poolCalls).toBe(1);
  });

  it('keeps the kernels and the last pools when the pools cannot be fetched', async () => {
    server.kernels = [kernel('a')];
    server.pools = [pool()];
    start({ fetchPools: server.fetchPools });
    await jest.advanceTimersByTimeAsync(0);
    server.failPools = true;
    server.kernels = [kernel('a'), kernel('b')];
    await jest.advanceTimersByTimeAsync(INTERVALS.slow);
    expect(server.poolCalls).toBe(2);
    expect(poller.models.map(m => m.kernel_id)).toEqual(['a', 'b']);
    expect(poller.pools).toEqual([pool()]);
    expect(console.warn).toHaveBeenCalledWith(
      'Could not list the warm pools',
      expect.any(Error)
    );
  });

  it('stops fetching when disposed', async () => {
    start();
    await jest.advanceTimersByTimeAsync(0);
    poller.dispose();
    await jest.advanceTimersByTimeAsync(5 * INTERVALS.slow);
    expect(server.calls).toBe(1);
  });
});
