import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISessionContext } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import {
  IRunningSessionManagers,
  IRunningSessionSidebar
} from '@jupyterlab/running';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { fetchPools, fetchRemoteKernels } from './api';
import { giveSectionRoom } from './layout';
import {
  DEFAULT_INTERVALS,
  IPlacementPoller,
  IPollIntervals,
  PlacementPoller
} from './poller';
import { RemoteKernelsManager } from './running';
import { RemoteKernelStatus } from './status';
import { TRANSLATION_DOMAIN } from './texts';

export * from './api';
export { giveSectionRoom, roomFor } from './layout';
export * from './phase';
export * from './placement';
export * from './pool';
export * from './poller';
export { RemoteKernelsManager } from './running';
export { RemoteKernelStatus } from './status';
export * from './texts';

/**
 * The placement poller the status bar item and the Running panel share; its
 * intervals come from the settings (schema/poller.json).
 */
const pollerPlugin: JupyterFrontEndPlugin<IPlacementPoller> = {
  id: 'jupyter-remote-kernels:poller',
  description:
    'Polls the placements of the server’s kernels for the status bar and the Running panel.',
  autoStart: true,
  provides: IPlacementPoller,
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null
  ): IPlacementPoller => {
    const serverSettings = app.serviceManager.serverSettings;
    const poller = new PlacementPoller({
      fetch: () => fetchRemoteKernels(serverSettings),
      fetchPools: () => fetchPools(serverSettings)
    });
    // Kernels started, stopped or culled elsewhere.
    const { kernels, sessions } = app.serviceManager;
    kernels.runningChanged.connect(() => poller.refreshSoon());
    sessions.runningChanged.connect(() => poller.refreshSoon());

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        poller.setIntervals(intervalsFrom(settings));
      };
      settingRegistry.load(pollerPlugin.id).then(
        settings => {
          apply(settings);
          settings.changed.connect(apply);
        },
        reason =>
          console.warn(
            `Could not load the settings of ${pollerPlugin.id}; polling every ` +
              `${DEFAULT_INTERVALS.fast} / ${DEFAULT_INTERVALS.slow} ms`,
            reason
          )
      );
    }
    return poller;
  }
};

/**
 * The poll intervals of the settings, defaults for what is missing or wrong.
 */
function intervalsFrom(settings: ISettingRegistry.ISettings): IPollIntervals {
  const read = (key: string, fallback: number): number => {
    const value = settings.composite[key];
    return typeof value === 'number' && Number.isFinite(value) && value > 0
      ? value
      : fallback;
  };
  return {
    fast: read('fastPollInterval', DEFAULT_INTERVALS.fast),
    slow: read('slowPollInterval', DEFAULT_INTERVALS.slow)
  };
}

/**
 * Status-bar item with the placement of the current notebook's kernel.
 */
const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-remote-kernels:status',
  description: 'Shows where the current notebook kernel runs.',
  autoStart: true,
  requires: [INotebookTracker, IPlacementPoller],
  optional: [IStatusBar, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    poller: IPlacementPoller,
    statusBar: IStatusBar | null,
    translator: ITranslator | null
  ) => {
    if (!statusBar) {
      return;
    }
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const item = new RemoteKernelStatus(poller, trans);
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
  requires: [IRunningSessionManagers, IPlacementPoller],
  optional: [INotebookTracker, IRunningSessionSidebar, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    managers: IRunningSessionManagers,
    poller: IPlacementPoller,
    tracker: INotebookTracker | null,
    sidebar: IRunningSessionSidebar | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const manager = new RemoteKernelsManager(app, poller, trans);
    managers.add(manager);

    // The section comes last and gets no more room than the empty ones: when
    // kernels appear in it, give it room to show them.
    if (sidebar) {
      let hadKernels = false;
      const hasRows = () => manager.models.length + manager.pools.length > 0;
      const onChange = () => {
        const hasKernels = hasRows();
        if (hasKernels && !hadKernels) {
          giveSectionRoom(sidebar, manager.name);
        }
        hadKernels = hasKernels;
      };
      manager.runningChanged.connect(onChange);
      sidebar.sectionAdded?.connect((_, entry) => {
        if (entry.id === manager.name && hasRows()) {
          giveSectionRoom(sidebar, manager.name);
        }
      });
      onChange();
    }

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

export default [pollerPlugin, statusPlugin, runningPlugin];
