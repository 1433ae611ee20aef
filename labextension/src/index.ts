import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISessionContext } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRunningSessionManagers } from '@jupyterlab/running';
import { IStatusBar } from '@jupyterlab/statusbar';

import { RemoteKernelsManager } from './running';
import { RemoteKernelStatus } from './status';

export * from './api';
export { RemoteKernelsManager } from './running';
export { RemoteKernelStatus } from './status';

/**
 * Status-bar item with the placement of the current notebook's kernel.
 */
const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-remote-kernels:status',
  description: 'Shows where the current notebook kernel runs.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    statusBar: IStatusBar | null
  ) => {
    if (!statusBar) {
      return;
    }
    const item = new RemoteKernelStatus(app.serviceManager.serverSettings);
    // Follow the notebook the user worked in last (the tracker's current one).
    const follow = () => {
      item.sessionContext = tracker.currentWidget?.sessionContext ?? null;
    };
    tracker.currentChanged.connect(follow);
    follow();

    statusBar.registerStatusItem(statusPlugin.id, {
      item,
      align: 'left',
      rank: 4,
      isActive: () => item.isActive,
      activeStateChanged: item.activeStateChanged
    });
  }
};

/**
 * "Remote kernels" section of the Running panel.
 */
const runningPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-remote-kernels:running',
  description:
    'Lists every kernel with where it runs in the Running panel, launching ones included.',
  autoStart: true,
  requires: [IRunningSessionManagers],
  optional: [INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    managers: IRunningSessionManagers,
    tracker: INotebookTracker | null
  ) => {
    const manager = new RemoteKernelsManager(app);
    managers.add(manager);
    // A notebook starting or changing its kernel: a launch the kernel list does
    // not show until it is done; refresh now to show its phase meanwhile.
    const onStatus = (_: ISessionContext, status: string) => {
      if (status !== 'busy' && status !== 'idle') {
        manager.kernelActivity();
      }
    };
    const watch = (_: unknown, panel: NotebookPanel) => {
      panel.sessionContext.statusChanged.connect(onStatus);
      panel.sessionContext.kernelChanged.connect(() =>
        manager.kernelActivity()
      );
    };
    tracker?.widgetAdded.connect(watch);
    tracker?.forEach(panel => watch(null, panel));
  }
};

export default [statusPlugin, runningPlugin];
