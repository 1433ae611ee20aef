import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import {
  fetchRemoteKernel,
  fetchRemoteKernels,
  IPlacement,
  IRemoteKernel,
  SETTLED_PHASES
} from './api';

/**
 * How often to refresh while a kernel is still launching or stopping.
 */
const POLL_INTERVAL_MS = 2000;

/**
 * Kernel signals come in bursts (restarting, starting, idle...): fetch once.
 */
const COALESCE_MS = 100;

/**
 * A status-bar item showing where the current notebook's kernel runs,
 * e.g. "python · node-3" or "spark · application_…_0042 (queued)".
 */
export class RemoteKernelStatus extends Widget {
  constructor(settings: ServerConnection.ISettings) {
    super({ node: document.createElement('span') });
    this._settings = settings;
    this.addClass('jp-RemoteKernelStatus');
  }

  /**
   * Emitted when the item should be shown or hidden.
   */
  get activeStateChanged(): ISignal<this, void> {
    return this._activeStateChanged;
  }

  /**
   * Whether there is a placement to show.
   */
  get isActive(): boolean {
    return this._model !== null;
  }

  /**
   * The session context of the notebook to follow, or null for none.
   */
  get sessionContext(): ISessionContext | null {
    return this._sessionContext;
  }
  set sessionContext(value: ISessionContext | null) {
    if (value === this._sessionContext) {
      return;
    }
    if (this._sessionContext) {
      this._sessionContext.kernelChanged.disconnect(this._onKernel, this);
      this._sessionContext.statusChanged.disconnect(this._onStatus, this);
    }
    this._sessionContext = value;
    this._status = value?.session?.kernel?.status ?? 'unknown';
    if (value) {
      value.kernelChanged.connect(this._onKernel, this);
      value.statusChanged.connect(this._onStatus, this);
    }
    this._schedule(0);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.sessionContext = null;
    window.clearTimeout(this._timer);
    super.dispose();
  }

  private _onKernel(): void {
    this._schedule(COALESCE_MS);
  }

  private _onStatus(_: ISessionContext, status: Kernel.Status): void {
    this._status = status;
    // Running code does not move a kernel; only refetch on other transitions.
    const settled = this._model?.placement?.phase === 'ready';
    if (settled && (status === 'busy' || status === 'idle')) {
      return;
    }
    this._schedule(COALESCE_MS);
  }

  private _schedule(delay: number): void {
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(() => {
      void this._refresh();
    }, delay);
  }

  private async _refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    const generation = ++this._generation;
    const kernelId = this._sessionContext?.session?.kernel?.id;
    if (this._model && this._model.kernel_id !== kernelId) {
      this._setModel(null); // Never show the previous kernel's placement.
    }
    // The session (and so the kernel id) exists only once the launch is done:
    // until then, show the newest launching kernel of the kernelspec asked for.
    const launching =
      !kernelId && this._status === 'starting' && this._sessionContext
        ? this._sessionContext.kernelPreference.name
        : undefined;
    let model: IRemoteKernel | null = null;
    try {
      if (kernelId) {
        model = await fetchRemoteKernel(kernelId, this._settings);
      } else if (launching) {
        const models = await fetchRemoteKernels(this._settings);
        model =
          models
            .filter(
              m =>
                m.kernel_name === launching &&
                m.placement &&
                !SETTLED_PHASES.has(m.placement.phase)
            )
            .pop() ?? null;
      }
    } catch (reason) {
      console.warn(
        `Could not get the placement of kernel ${kernelId ?? launching}`,
        reason
      );
    }
    if (generation !== this._generation || this.isDisposed) {
      return; // A newer refresh has started meanwhile.
    }
    this._setModel(model?.placement ? model : null);
    const phase = this._model?.placement?.phase;
    if ((phase && !SETTLED_PHASES.has(phase)) || (launching && !model)) {
      this._schedule(POLL_INTERVAL_MS);
    }
  }

  private _setModel(model: IRemoteKernel | null): void {
    const wasActive = this.isActive;
    this._model = model;
    const placement = model?.placement;
    this.node.textContent = model && placement ? label(model, placement) : '';
    this.node.title = model && placement ? tooltip(model, placement) : '';
    this.node.dataset.phase = placement?.phase ?? '';
    if (wasActive !== this.isActive) {
      this._activeStateChanged.emit();
    }
  }

  private _settings: ServerConnection.ISettings;
  private _sessionContext: ISessionContext | null = null;
  private _status: Kernel.Status | 'unknown' = 'unknown';
  private _model: IRemoteKernel | null = null;
  private _generation = 0;
  private _timer = 0;
  private _activeStateChanged = new Signal<this, void>(this);
}

/**
 * Shorten "application_1700000000000_0042" to "application_…_0042".
 */
function shortAppId(appId: string): string {
  const match = /^application_\d+_(\d+)$/.exec(appId);
  return match ? `application_…_${match[1]}` : appId;
}

function where(placement: IPlacement): string {
  if (placement.kind === 'yarn') {
    if (placement.app_id) {
      return shortAppId(placement.app_id);
    }
    return placement.queue ? `queue ${placement.queue}` : 'YARN';
  }
  return placement.host ?? placement.ip ?? placement.provisioner;
}

/**
 * The short text shown in the status bar.
 */
export function label(model: IRemoteKernel, placement: IPlacement): string {
  const text = `${model.kernel_name} · ${where(placement)}`;
  return placement.phase === 'ready' ? text : `${text} (${placement.phase})`;
}

/**
 * The whole placement, one field a line.
 */
export function tooltip(model: IRemoteKernel, placement: IPlacement): string {
  const lines: [string, string | number | null][] = [
    ['Kernel', `${model.display_name} (${model.kernel_id})`],
    ['Provisioner', `${placement.provisioner} (${placement.kind})`],
    ['Phase', `${placement.phase} since ${placement.phase_since}`],
    ['Host', placement.host],
    ['IP', placement.ip],
    ['PID', placement.pid],
    ['YARN application', placement.app_id],
    ['Queue', placement.queue],
    ['YARN state', placement.state],
    ['Tracking URL', placement.tracking_url],
    ['Detail', placement.detail || null],
    ['Error', placement.error]
  ];
  return lines
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
}
