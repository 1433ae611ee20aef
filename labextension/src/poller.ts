import { Token } from '@lumino/coreutils';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Debouncer, IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { IPool, IRemoteKernel, SETTLED_PHASES } from './model';

/**
 * How often to fetch the placements (ms).
 */
export interface IPollIntervals {
  /**
   * While a kernel launches or stops, or just after a notebook started one.
   */
  fast: number;
  /**
   * Otherwise (kernels started elsewhere, culled...).
   */
  slow: number;
}

/**
 * The intervals the settings schema (schema/poller.json) defaults to.
 */
export const DEFAULT_INTERVALS: Readonly<IPollIntervals> = {
  fast: 2000,
  slow: 15000
};

/**
 * How long to keep polling fast after `keepFast()` (a notebook started or
 * changed its kernel: the launch may not have reached the server yet).
 */
export const ACTIVITY_WINDOW_MS = 6000;

/**
 * Kernel and session signals come in bursts (restarting, starting, idle...):
 * `refreshSoon()` calls within this time give one fetch.
 */
export const COALESCE_MS = 100;

/**
 * The placements of every kernel the server extension knows, fetched by one
 * poll that the status bar item and the Running panel section share.
 */
export interface IPlacementPoller {
  /**
   * The kernels as last fetched, launching ones and warm pools' kernels
   * included (`isPoolKernel` tells them apart).
   */
  readonly models: ReadonlyArray<IRemoteKernel>;

  /**
   * The warm pools as last fetched; empty on a server without pools.
   */
  readonly pools: ReadonlyArray<IPool>;

  /**
   * Emitted after a fetch when the list, a placement or a pool changed, and
   * after every fetch while a kernel launches or stops (its phase time grows).
   */
  readonly changed: ISignal<IPlacementPoller, void>;

  /**
   * Fetch now (user action: refresh, shut down...).
   */
  refresh(): Promise<void>;

  /**
   * Fetch soon; calls within a short burst give one fetch.
   */
  refreshSoon(): void;

  /**
   * Poll fast for `ms` from now.
   */
  keepFast(ms?: number): void;

  /**
   * Poll fast while `predicate()` is true (asked before each wait).
   *
   * @returns Disposing it removes the predicate.
   */
  pollFastWhile(predicate: () => boolean): IDisposable;
}

/**
 * The token of the shared placement poller.
 */
export const IPlacementPoller = new Token<IPlacementPoller>(
  'jupyter-remote-kernels:IPlacementPoller',
  'The placements of the server’s kernels, polled once for every view.'
);

/**
 * What one poll fetched.
 */
interface IFetched {
  models: IRemoteKernel[];
  pools: IPool[];
}

/**
 * The shared placement poller, on `@lumino/polling`'s `Poll`.
 *
 * A fetch that a newer one superseded is dropped (`Poll` ignores the result of
 * a tick that is no longer current), so the views never go back to older data.
 */
export class PlacementPoller implements IPlacementPoller, IDisposable {
  constructor(options: PlacementPoller.IOptions) {
    this._fetch = options.fetch;
    this._fetchPools = options.fetchPools ?? null;
    this._intervals = { ...(options.intervals ?? DEFAULT_INTERVALS) };
    this._now = options.now ?? Date.now;
    this._poll = new Poll<IFetched, unknown, 'standby'>({
      name: 'jupyter-remote-kernels:placements',
      factory: () => this._tick(),
      frequency: this._frequency(true),
      standby: options.standby ?? 'when-hidden',
      auto: false
    });
    this._poll.ticked.connect(this._onTicked, this);
    this._debouncer = new Debouncer(
      () => this.refresh(),
      options.coalesceMs ?? COALESCE_MS
    );
    if (options.auto ?? true) {
      void this._poll.start();
    }
  }

  get models(): ReadonlyArray<IRemoteKernel> {
    return this._models;
  }

  get pools(): ReadonlyArray<IPool> {
    return this._pools;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The current intervals.
   */
  get intervals(): Readonly<IPollIntervals> {
    return this._intervals;
  }

  /**
   * Change the intervals (from the settings); takes effect from the next wait.
   */
  setIntervals(intervals: IPollIntervals): void {
    const { fast, slow } = intervals;
    if (fast === this._intervals.fast && slow === this._intervals.slow) {
      return;
    }
    this._intervals = { fast, slow };
    // Fetch now rather than wait out an interval the user just changed.
    void this.refresh();
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  refresh(): Promise<void> {
    // Unlike Poll.refresh(), also while a refresh is in flight: its answer may
    // predate what asked for this one. The newer fetch wins; Poll drops the
    // answer of the older.
    return this._poll.schedule({
      interval: Poll.IMMEDIATE,
      phase: 'refreshed'
    });
  }

  refreshSoon(): void {
    void this._debouncer.invoke();
  }

  keepFast(ms: number = ACTIVITY_WINDOW_MS): void {
    this._fastUntil = Math.max(this._fastUntil, this._now() + ms);
  }

  pollFastWhile(predicate: () => boolean): IDisposable {
    this._fastWhile.add(predicate);
    return new DisposableDelegate(() => {
      this._fastWhile.delete(predicate);
    });
  }

  /**
   * Resolves after the next fetch (or failed fetch) is handled: for tests.
   */
  get tick(): Promise<unknown> {
    return this._poll.tick;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._debouncer.dispose();
    this._poll.dispose();
    this._fastWhile.clear();
    Signal.clearData(this);
  }

  /**
   * The poll's factory: fetch, then choose the next wait before `Poll`
   * schedules it.
   */
  private async _tick(): Promise<IFetched> {
    let fetched: IFetched;
    try {
      const [models, pools] = await Promise.all([
        this._fetch(),
        this._fetchPoolsOrKeep()
      ]);
      fetched = { models, pools };
    } catch (reason) {
      console.warn('Could not list the remote kernels', reason);
      // Keep what was last fetched; Poll backs off from this interval.
      this._poll.frequency = this._frequency(
        this._wantsFast({ models: this._models, pools: this._pools })
      );
      throw reason;
    }
    this._poll.frequency = this._frequency(this._wantsFast(fetched));
    return fetched;
  }

  /**
   * The pools, or the last ones fetched if the server could not list them
   * (the kernels are still worth showing).
   */
  private async _fetchPoolsOrKeep(): Promise<IPool[]> {
    if (!this._fetchPools) {
      return [];
    }
    try {
      return await this._fetchPools();
    } catch (reason) {
      console.warn('Could not list the warm pools', reason);
      return this._pools;
    }
  }

  private _onTicked(
    _: Poll<IFetched, unknown, 'standby'>,
    state: IPoll.State<IFetched, unknown, 'standby'>
  ): void {
    if (state.phase !== 'resolved' && state.phase !== 'reconnected') {
      return;
    }
    // A resolved tick's payload is what the factory returned.
    const fetched = state.payload as IFetched | null;
    if (!fetched) {
      return;
    }
    const key = JSON.stringify(fetched);
    // While a kernel launches, tell the views anyway: its phase time grows.
    if (key !== this._key || anyUnsettled(fetched.models)) {
      this._key = key;
      this._models = fetched.models;
      this._pools = fetched.pools;
      this._changed.emit();
    }
  }

  private _wantsFast(fetched: IFetched): boolean {
    if (anyUnsettled(fetched.models)) {
      return true;
    }
    // A pool being refilled: show its count grow.
    if (fetched.pools.some(pool => pool.status === 'filling')) {
      return true;
    }
    if (this._now() < this._fastUntil) {
      return true;
    }
    for (const predicate of this._fastWhile) {
      if (predicate()) {
        return true;
      }
    }
    return false;
  }

  private _frequency(fast: boolean): IPoll.Frequency {
    const { fast: fastMs, slow: slowMs } = this._intervals;
    return {
      interval: fast ? fastMs : slowMs,
      // Failed fetches wait longer and longer, up to the slow interval.
      backoff: true,
      max: Math.max(fastMs, slowMs)
    };
  }

  private _fetch: () => Promise<IRemoteKernel[]>;
  private _fetchPools: (() => Promise<IPool[]>) | null;
  private _intervals: IPollIntervals;
  private _now: () => number;
  private _poll: Poll<IFetched, unknown, 'standby'>;
  private _debouncer: Debouncer;
  private _models: IRemoteKernel[] = [];
  private _pools: IPool[] = [];
  private _key = '';
  private _fastUntil = 0;
  private _fastWhile = new Set<() => boolean>();
  private _changed = new Signal<this, void>(this);
}

/**
 * Whether a kernel of the list is still launching or stopping.
 */
export function anyUnsettled(models: ReadonlyArray<IRemoteKernel>): boolean {
  return models.some(
    m => m.placement && !SETTLED_PHASES.has(m.placement.phase)
  );
}

export namespace PlacementPoller {
  /**
   * Options of a placement poller.
   */
  export interface IOptions {
    /**
     * Fetch the list (`fetchRemoteKernels` with the server's settings).
     */
    fetch: () => Promise<IRemoteKernel[]>;
    /**
     * Fetch the warm pools (`fetchPools` with the server's settings); none
     * are shown if not given. A failed fetch keeps the pools of before.
     */
    fetchPools?: () => Promise<IPool[]>;
    /**
     * The intervals; `DEFAULT_INTERVALS` if not given.
     */
    intervals?: IPollIntervals;
    /**
     * Coalescing window of `refreshSoon()`, ms.
     */
    coalesceMs?: number;
    /**
     * Whether to start polling at once (default true).
     */
    auto?: boolean;
    /**
     * When to stand by; `Poll`'s default, 'when-hidden' (no fetches while the
     * browser tab is hidden).
     */
    standby?: Poll.Standby;
    /**
     * The clock (ms since the epoch): for tests.
     */
    now?: () => number;
  }
}
