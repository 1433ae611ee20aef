import { JupyterFrontEnd } from '@jupyterlab/application';
import { IRunningSessions } from '@jupyterlab/running';
import { TranslationBundle } from '@jupyterlab/translation';
import { kernelIcon, launchIcon } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { IPool, IRemoteKernel, userKernels } from './model';
import { IRowParts, rowParts } from './placement';
import { IPoolParts, poolRows } from './pool';
import { IPlacementPoller } from './poller';
import { sectionTexts } from './texts';

/**
 * The "Remote kernels" section of the Running panel: every user's kernel the
 * server extension knows, including ones still launching, with where it runs;
 * then a "Warm pool" line per pool (ready / target, why it cannot be filled).
 * The pools' own kernels are not listed: nobody uses them yet.
 *
 * It shows what the shared placement poller fetched.
 */
export class RemoteKernelsManager implements IRunningSessions.IManager {
  constructor(
    app: JupyterFrontEnd,
    poller: IPlacementPoller,
    trans: TranslationBundle
  ) {
    this._app = app;
    this._poller = poller;
    this._trans = trans;
    const texts = sectionTexts(trans);
    this.name = texts.name;
    this.shutdownAllConfirmationText = texts.shutdownAllConfirmationText;
    poller.changed.connect(this._onChanged, this);
  }

  readonly name: string;
  // No `shutdownAllLabel`: the button says JupyterLab's "Shut Down All".
  readonly shutdownAllConfirmationText: string;

  /**
   * Emitted whenever the list or one kernel's placement changed.
   */
  get runningChanged(): ISignal<this, void> {
    return this._runningChanged;
  }

  /**
   * The users' kernels as last fetched (pool kernels left out).
   */
  get models(): ReadonlyArray<IRemoteKernel> {
    return userKernels(this._poller.models);
  }

  /**
   * The warm pools as last fetched.
   */
  get pools(): ReadonlyArray<IPool> {
    return this._poller.pools;
  }

  running(): IRunningSessions.IRunningItem[] {
    const now = Date.now();
    const pools = this.pools;
    const poolParts = poolRows(pools, this._poller.models, this._trans);
    return [
      ...this.models.map(model => this._item(model, now)),
      ...pools.map((pool, i) => this._poolItem(pool, poolParts[i]))
    ];
  }

  refreshRunning(): void {
    void this._poller.refresh();
  }

  /**
   * Ask for a refresh soon, e.g. because a notebook started a kernel.
   */
  kernelActivity(): void {
    // The launch may not have reached the server yet: look again for a while.
    this._poller.keepFast();
    this._poller.refreshSoon();
  }

  shutdownAll(): void {
    void this._app.serviceManager.kernels.shutdownAll().then(
      () => this._poller.refresh(),
      reason => console.error('Could not shut down the kernels', reason)
    );
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._poller.changed.disconnect(this._onChanged, this);
    Signal.clearData(this);
  }

  private _onChanged(): void {
    this._runningChanged.emit();
  }

  private _item(
    model: IRemoteKernel,
    now: number
  ): IRunningSessions.IRunningItem {
    const parts = rowParts(model, now, this._trans);
    const launched = this._isListedKernel(model.kernel_id);
    return {
      className: `jp-RemoteKernels-item jp-mod-phase-${model.placement?.phase ?? 'unknown'}`,
      context: model.kernel_id,
      icon: () => kernelIcon,
      label: () => <RemoteKernelLabel parts={parts} />,
      labelTitle: () => parts.title,
      detail: () => parts.detail,
      open: () => {
        void this._open(model);
      },
      // A kernel still launching is not in /api/kernels yet: nothing to stop.
      shutdown: launched
        ? () => {
            void this._app.serviceManager.kernels
              .shutdown(model.kernel_id)
              .then(
                () => this._poller.refresh(),
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

  /**
   * A pool's "Warm pool" line: nothing to open or shut down (the pool refills
   * what is stopped; its size is the admin's).
   */
  private _poolItem(
    pool: IPool,
    parts: IPoolParts
  ): IRunningSessions.IRunningItem {
    return {
      className: `jp-RemoteKernels-pool jp-mod-pool-${pool.status}`,
      context: `pool:${pool.kernel_name}:${pool.user ?? ''}`,
      icon: () => kernelIcon,
      label: () => <PoolLabel parts={parts} />,
      labelTitle: () => parts.title,
      detail: () => parts.detail
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
  private _poller: IPlacementPoller;
  private _trans: TranslationBundle;
  private _disposed = false;
  private _runningChanged = new Signal<this, void>(this);
}

/**
 * A row's label: where the kernel runs (the backend's words), a link icon for
 * each detail that is a web address, the kernelspec's display name.
 */
function RemoteKernelLabel(props: { parts: IRowParts }): JSX.Element {
  const { parts } = props;
  return (
    <span className="jp-RemoteKernels-label">
      {parts.where && (
        <span className="jp-RemoteKernels-where">{parts.where}</span>
      )}
      {parts.links.map(link => (
        // An icon, named by the detail's key: the sidebar is narrow.
        <a
          key={link.key}
          className="jp-RemoteKernels-link"
          href={link.href}
          title={link.title}
          aria-label={link.label}
          target="_blank"
          rel="noopener noreferrer"
          onClick={event => event.stopPropagation()}
        >
          <launchIcon.react tag="span" />
        </a>
      ))}
      <span className="jp-RemoteKernels-name">{parts.name}</span>
    </span>
  );
}

/**
 * A "Warm pool" line's label: "Warm pool", the kernelspec's display name.
 */
function PoolLabel(props: { parts: IPoolParts }): JSX.Element {
  const { parts } = props;
  return (
    <span className="jp-RemoteKernels-label">
      <span className="jp-RemoteKernels-poolLabel">{parts.label}</span>
      <span className="jp-RemoteKernels-name">{parts.name}</span>
    </span>
  );
}
