import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { IRemoteKernel, statusKernel } from './model';
import { statusLabel, tooltip } from './placement';
import { IPlacementPoller } from './poller';

/**
 * A status-bar item showing where the current notebook's kernel runs: its
 * display name and the backend's `where`, with the phase until it is ready.
 *
 * It shows what the shared placement poller fetched; its session's kernel
 * signals ask the poller for a fetch.
 */
export class RemoteKernelStatus extends Widget {
  constructor(poller: IPlacementPoller, trans: TranslationBundle) {
    super({ node: document.createElement('span') });
    this._poller = poller;
    this._trans = trans;
    this.addClass('jp-RemoteKernelStatus');
    poller.changed.connect(this._update, this);
    // Until its session has a kernel id, a launching kernel is found by its
    // kernelspec name: poll fast until it shows up.
    this._fastWhileLaunching = poller.pollFastWhile(
      () => this._launching() !== undefined && this._model === null
    );
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
    this._update();
    void this._poller.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.sessionContext = null;
    this._poller.changed.disconnect(this._update, this);
    this._fastWhileLaunching.dispose();
    super.dispose();
  }

  private _onKernel(): void {
    this._update(); // Never show the previous kernel's placement meanwhile.
    this._poller.refreshSoon();
  }

  private _onStatus(_: ISessionContext, status: Kernel.Status): void {
    this._status = status;
    // Running code does not move a kernel; only refetch on other transitions.
    const settled = this._model?.placement?.phase === 'ready';
    if (settled && (status === 'busy' || status === 'idle')) {
      return;
    }
    this._update();
    this._poller.refreshSoon();
  }

  /**
   * The kernelspec name of a kernel the session is launching, if any.
   *
   * The session (and so the kernel id) exists only once the launch is done.
   */
  private _launching(): string | undefined {
    const kernelId = this._sessionContext?.session?.kernel?.id;
    return !kernelId && this._status === 'starting' && this._sessionContext
      ? this._sessionContext.kernelPreference.name
      : undefined;
  }

  /**
   * Show the placement of the session's kernel, or of the newest kernel of
   * the kernelspec it is launching, from the poller's last fetch.
   */
  private _update(): void {
    if (this.isDisposed) {
      return;
    }
    const kernelId = this._sessionContext?.session?.kernel?.id;
    const launching = this._launching();
    const model = statusKernel(this._poller.models, kernelId, launching);
    this._setModel(model?.placement ? model : null);
  }

  private _setModel(model: IRemoteKernel | null): void {
    const wasActive = this.isActive;
    this._model = model;
    const placement = model?.placement;
    this.node.textContent =
      model && placement ? statusLabel(model, placement, this._trans) : '';
    this.node.title =
      model && placement ? tooltip(model, placement, this._trans) : '';
    this.node.dataset.phase = placement?.phase ?? '';
    if (wasActive !== this.isActive) {
      this._activeStateChanged.emit();
    }
  }

  private _poller: IPlacementPoller;
  private _trans: TranslationBundle;
  private _fastWhileLaunching: IDisposable;
  private _sessionContext: ISessionContext | null = null;
  private _status: Kernel.Status | 'unknown' = 'unknown';
  private _model: IRemoteKernel | null = null;
  private _activeStateChanged = new Signal<this, void>(this);
}
