import { JupyterFrontEnd } from '@jupyterlab/application';
import { IRunningSessions } from '@jupyterlab/running';
import { ServerConnection } from '@jupyterlab/services';
import { kernelIcon } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import {
  fetchRemoteKernels,
  IPlacement,
  IRemoteKernel,
  SETTLED_PHASES
} from './api';
import { tooltip } from './status';

/**
 * How often to refresh while any kernel is launching or stopping.
 */
export const FAST_POLL_MS = 2000;

/**
 * How often to refresh otherwise (kernels started elsewhere, culled, ...).
 */
export const SLOW_POLL_MS = 15000;

/**
 * How long to keep refreshing fast after a notebook started a kernel.
 */
const ACTIVITY_WINDOW_MS = 6000;

/**
 * Kernel and session signals come in bursts: fetch once.
 */
const COALESCE_MS = 100;

/**
 * The "Remote kernels" section of the Running panel: every kernel the server
 * extension knows, including ones still launching, with where it runs.
 */
export class RemoteKernelsManager implements IRunningSessions.IManager {
  constructor(app: JupyterFrontEnd) {
    this._app = app;
    this._settings = app.serviceManager.serverSettings;
    const { kernels, sessions } = app.serviceManager;
    kernels.runningChanged.connect(this._onServerChange, this);
    sessions.runningChanged.connect(this._onServerChange, this);
    this._schedule(0);
  }

  readonly name = 'Remote kernels';
  readonly shutdownAllLabel = 'Shut Down All Remote Kernels';
  readonly shutdownAllConfirmationText =
    'Are you sure you want to permanently shut down all running kernels?';

  /**
   * Emitted whenever the list or one kernel's placement changed.
   */
  get runningChanged(): ISignal<this, void> {
    return this._runningChanged;
  }

  /**
   * The kernels as last fetched.
   */
  get models(): ReadonlyArray<IRemoteKernel> {
    return this._models;
  }

  running(): IRunningSessions.IRunningItem[] {
    return this._models.map(model => this._item(model));
  }

  refreshRunning(): void {
    this._schedule(0);
  }

  /**
   * Ask for a refresh soon, e.g. because a notebook started a kernel.
   */
  kernelActivity(): void {
    // The launch may not have reached the server yet: look again for a while.
    this._fastUntil = Date.now() + ACTIVITY_WINDOW_MS;
    this._schedule(COALESCE_MS);
  }

  shutdownAll(): void {
    void this._app.serviceManager.kernels.shutdownAll().then(
      () => this._schedule(0),
      reason => console.error('Could not shut down the kernels', reason)
    );
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.clearTimeout(this._timer);
    Signal.clearData(this);
  }

  private _onServerChange(): void {
    this._schedule(COALESCE_MS);
  }

  private _schedule(delay: number): void {
    if (this._disposed) {
      return;
    }
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(() => {
      void this._refresh();
    }, delay);
  }

  private async _refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    const generation = ++this._generation;
    let models: IRemoteKernel[] | null = null;
    try {
      models = await fetchRemoteKernels(this._settings);
    } catch (reason) {
      console.warn('Could not list the remote kernels', reason);
    }
    if (generation !== this._generation || this._disposed) {
      return; // A newer refresh has started meanwhile.
    }
    const busy = (models ?? this._models).some(
      m => m.placement && !SETTLED_PHASES.has(m.placement.phase)
    );
    if (models !== null) {
      const key = JSON.stringify(models);
      // While a kernel launches, re-render anyway: its phase duration grows.
      if (key !== this._key || busy) {
        this._key = key;
        this._models = models;
        this._runningChanged.emit();
      }
    }
    const fast = busy || Date.now() < this._fastUntil;
    this._schedule(fast ? FAST_POLL_MS : SLOW_POLL_MS);
  }

  private _item(model: IRemoteKernel): IRunningSessions.IRunningItem {
    const placement = model.placement;
    const launched = this._isListedKernel(model.kernel_id);
    return {
      className: `jp-RemoteKernels-item jp-mod-phase-${placement?.phase ?? 'unknown'}`,
      context: model.kernel_id,
      icon: () => kernelIcon,
      label: () => <RemoteKernelLabel model={model} />,
      labelTitle: () =>
        placement ? tooltip(model, placement) : model.display_name,
      detail: () => (placement ? phaseText(placement) : ''),
      open: () => {
        void this._open(model);
      },
      // A kernel still launching is not in /api/kernels yet: nothing to stop.
      shutdown: launched
        ? () => {
            void this._app.serviceManager.kernels
              .shutdown(model.kernel_id)
              .then(
                () => this._schedule(0),
                reason =>
                  console.error(
                    `Could not shut down kernel ${model.kernel_id}`,
                    reason
                  )
              );
          }
        : undefined
    };
  }

  private _isListedKernel(kernelId: string): boolean {
    for (const kernel of this._app.serviceManager.kernels.running()) {
      if (kernel.id === kernelId) {
        return true;
      }
    }
    return false;
  }

  /**
   * Open the notebook using the kernel, or a new notebook on it if none does.
   */
  private async _open(model: IRemoteKernel): Promise<void> {
    const { commands, serviceManager } = this._app;
    for (const session of serviceManager.sessions.running()) {
      if (session.kernel?.id === model.kernel_id) {
        if (session.type === 'notebook' || session.type === 'console') {
          await commands.execute('docmanager:open', { path: session.path });
          return;
        }
      }
    }
    if (this._isListedKernel(model.kernel_id)) {
      await commands.execute('notebook:create-new', {
        kernelId: model.kernel_id,
        kernelName: model.kernel_name
      });
    }
  }

  private _app: JupyterFrontEnd;
  private _settings: ServerConnection.ISettings;
  private _models: IRemoteKernel[] = [];
  private _key = '';
  private _generation = 0;
  private _timer = 0;
  private _fastUntil = 0;
  private _disposed = false;
  private _runningChanged = new Signal<this, void>(this);
}

/**
 * "ready", "queued · ACCEPTED", "waiting-for-launcher (12 s)".
 */
export function phaseText(placement: IPlacement): string {
  let text = placement.phase;
  if (placement.state && placement.kind === 'yarn') {
    text += ` · ${placement.state}`;
  }
  if (!SETTLED_PHASES.has(placement.phase)) {
    const since = Date.parse(placement.phase_since);
    if (!Number.isNaN(since)) {
      const seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
      text += ` (${seconds} s)`;
    }
  }
  return text;
}

function RemoteKernelLabel(props: { model: IRemoteKernel }): JSX.Element {
  const { model } = props;
  const placement = model.placement;
  const where = placement?.host ?? placement?.ip ?? null;
  // Where first: the sidebar is narrow, and the name is in the tooltip too.
  return (
    <span className="jp-RemoteKernels-label">
      {where && <span className="jp-RemoteKernels-host">{where}</span>}
      {placement?.app_id &&
        (placement.tracking_url ? (
          <a
            className="jp-RemoteKernels-app"
            href={placement.tracking_url}
            target="_blank"
            rel="noopener noreferrer"
            onClick={event => event.stopPropagation()}
          >
            {placement.app_id}
          </a>
        ) : (
          <span className="jp-RemoteKernels-app">{placement.app_id}</span>
        ))}
      {placement && (
        <span
          className="jp-RemoteKernels-kind"
          data-kind={placement.kind}
          title={placement.provisioner}
        >
          {placement.kind}
        </span>
      )}
      <span className="jp-RemoteKernels-name">{model.display_name}</span>
    </span>
  );
}
