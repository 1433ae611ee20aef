import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';

import { RemoteKernelStatus } from './status';

export * from './api';

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

export default [statusPlugin];
