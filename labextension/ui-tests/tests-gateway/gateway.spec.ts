/**
 * JupyterLab on a user's server whose kernels run on a gateway
 * (`--gateway-url`, playwright.gateway.config.js): the status bar and the
 * Running panel show where the gateway placed each kernel, and the kernel
 * runs as the user the hub named (KERNEL_USERNAME).
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { APIRequestContext, TestInfo } from '@playwright/test';

import {
  detailLine,
  escapeRegExp,
  keepScreenshot,
  openNotebookOn,
  panelItems,
  remoteKernels,
  remoteSection,
  requireReal,
  statusItem,
  statusText
} from '../tests/helpers';

interface IGatewaySetup {
  kernels: string[];
  ssh: { hosts: { address: string; hostname: string }[] } | null;
  ssh_skipped?: string;
  ssh_error?: string;
}

/**
 * What jupyter_gateway_test_config.py set up on the gateway (it writes the
 * file into the user's root dir: read through the user's server).
 */
async function gatewaySetup(
  request: APIRequestContext
): Promise<IGatewaySetup> {
  const response = await request.get(
    'api/contents/jrk-ui-gateway.json?content=1'
  );
  expect(response.ok()).toBeTruthy();
  return JSON.parse((await response.json()).content);
}

async function placementThroughTheGateway(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  testInfo: TestInfo,
  kernel: string,
  expectedHosts: string[] | null
): Promise<void> {
  await openNotebookOn(page, tmpPath, kernel);
  const item = statusItem(page);
  await expect(item).toHaveAttribute('data-phase', 'ready', { timeout: 90000 });
  // The user's server answers /api/remote-kernels by asking the gateway: the
  // placement the gateway's backend wrote, shown as it comes.
  const models = (await remoteKernels(page.request)).filter(
    m => m.kernel_name === kernel
  );
  expect(models).toHaveLength(1);
  const [model] = models;
  const placement = model.placement!;
  expect(placement).toBeTruthy();
  expect(placement.phase).toBe('ready');
  expect(placement.where).toBeTruthy();
  const host = placement.host as string;
  expect(host).toBeTruthy();
  if (expectedHosts) {
    expect(expectedHosts).toContain(host);
  }
  // The display name the user picked the kernel by (the gateway's kernelspec),
  // not the kernelspec's folder name.
  expect(model.display_name).not.toBe(kernel);
  // The same placement in Jupyter's own kernel model (the gateway client
  // keeps the gateway's model whole).
  const kernel_ = await page.request.get(`api/kernels/${model.kernel_id}`);
  expect(kernel_.ok()).toBeTruthy();
  const kept = (await kernel_.json()).placement;
  expect(kept?.host).toBe(host);
  expect(kept?.where).toBe(placement.where);

  // The status bar: "<display name> · <where>", every fact in its tooltip.
  await expect(item).toHaveText(statusText(model));
  await expect(item).toHaveAttribute(
    'title',
    new RegExp(escapeRegExp(`Host: ${host}`))
  );
  await expect(item).toHaveAttribute(
    'title',
    new RegExp(escapeRegExp(`Where: ${placement.where}`))
  );
  for (const [key, value] of Object.entries(placement.details)) {
    if (value !== null && value !== '') {
      await expect(item).toHaveAttribute(
        'title',
        new RegExp(escapeRegExp(detailLine(key, value)))
      );
    }
  }
  await keepScreenshot(
    page.locator('#jp-main-statusbar'),
    testInfo,
    'status-bar'
  );

  // The Running panel row: where first, then the display name; host and
  // details in its tooltip.
  const section = await remoteSection(page);
  const row = panelItems(page).filter({ hasText: model.display_name });
  await expect(row).toHaveCount(1);
  await expect(row.locator('.jp-RemoteKernels-where')).toHaveText(
    placement.where
  );
  await expect(row.locator('.jp-RemoteKernels-name')).toHaveText(
    model.display_name
  );
  const label = row.locator('.jp-RunningSessions-itemLabel');
  await expect(label).toHaveAttribute(
    'title',
    new RegExp(escapeRegExp(`Host: ${host}`))
  );
  for (const [key, value] of Object.entries(placement.details)) {
    if (value !== null && value !== '') {
      await expect(label).toHaveAttribute(
        'title',
        new RegExp(escapeRegExp(detailLine(key, value)))
      );
    }
  }
  await expect(row).toHaveClass(/jp-mod-phase-ready/);
  await expect(row).toContainText('ready');
  await keepScreenshot(section, testInfo, 'running-panel');

  // The kernel runs as the user the hub named, where the panel says.
  await page.notebook.setCell(
    0,
    'code',
    "import os, socket; print(os.environ['KERNEL_USERNAME'], socket.gethostname())"
  );
  await page.notebook.runCell(0);
  const output = (await page.notebook.getCellTextOutput(0)) ?? [];
  const [user, hostname] = output.join('').trim().split(/\s+/);
  expect(user).toBe('alice');
  if (expectedHosts) {
    expect(expectedHosts).toContain(hostname);
  }
  const lab = testInfo.outputPath('lab.png');
  await page.screenshot({ path: lab, timeout: 15000 });
  await testInfo.attach('lab', { path: lab, contentType: 'image/png' });

  // Shut it down from the panel: gone from the panel and from the gateway.
  await row.hover();
  await row.locator('.jp-RunningSessions-itemShutdown').click();
  await expect(row).toHaveCount(0);
  await expect
    .poll(async () => (await remoteKernels(page.request)).length, {
      timeout: 30000
    })
    .toBe(0);
}

test.describe('Remote kernels through a gateway', () => {
  // The lab is ready when its Launcher shows, which waits for the kernelspecs:
  // through the user's server from the gateway, two servers on 2 cores. Galata
  // waits 15 s for it; give it the expect timeout's twice.
  test.use({
    // eslint-disable-next-line no-empty-pattern
    waitForApplication: async ({}, use) => {
      await use(async (page, helpers) => {
        await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
        await helpers.waitForCondition(
          () => helpers.activity.isTabActive('Launcher'),
          60000
        );
        if (!(await helpers.isInSimpleMode())) {
          await helpers.activity.activateTab('Launcher');
        }
      });
    }
  });

  test.afterEach(async ({ request }) => {
    for (const model of await remoteKernels(request)) {
      await request.delete(`api/kernels/${model.kernel_id}`);
    }
  });

  test('a local kernel on the gateway shows where it runs in the status bar and the Running panel', async ({
    page,
    tmpPath
  }, testInfo) => {
    await placementThroughTheGateway(
      page,
      tmpPath,
      testInfo,
      'remote-python',
      null
    );
  });

  test('an ssh kernel on the gateway shows where it runs in the status bar and the Running panel', async ({
    page,
    request,
    tmpPath
  }, testInfo) => {
    const info = await gatewaySetup(request);
    expect(info.ssh_error).toBeUndefined();
    if (requireReal()) {
      expect(info.ssh, `JRK_REQUIRE_REAL=1: ${info.ssh_skipped}`).toBeTruthy();
    }
    test.skip(!info.ssh, info.ssh_skipped ?? 'no SSH test hosts');
    const hosts = info.ssh!.hosts.flatMap(h => [h.hostname, h.address]);
    await placementThroughTheGateway(
      page,
      tmpPath,
      testInfo,
      'remote-ssh',
      hosts
    );
  });
});
