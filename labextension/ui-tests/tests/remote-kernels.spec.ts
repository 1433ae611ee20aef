import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { TestInfo } from '@playwright/test';

import {
  keepScreenshot,
  openNotebookOn,
  panelItems,
  remoteKernels,
  remoteSection,
  requireReal,
  setup,
  statusItem
} from './helpers';

/**
 * The least height of the Remote kernels section with a kernel: four rows
 * (JupyterLab's Running panel rows are 24 px high).
 */
const MIN_SECTION_PX = 4 * 24;

/**
 * Open a notebook on `kernel`; check the status bar and the Running panel show
 * the host the server reports; shut the kernel down from the panel.
 */
async function placementShownThenShutDown(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  testInfo: TestInfo,
  kernel: string,
  expectedHosts: string[] | null
): Promise<void> {
  await openNotebookOn(page, tmpPath, kernel);
  // The status bar: "<kernel name> · <host>" once ready.
  const item = statusItem(page);
  await expect(item).toHaveAttribute('data-phase', 'ready', { timeout: 60000 });
  const [model] = (await remoteKernels(page.request)).filter(
    m => m.kernel_name === kernel
  );
  expect(model.placement?.phase).toBe('ready');
  const host = model.placement?.host as string;
  expect(host).toBeTruthy();
  if (expectedHosts) {
    expect(expectedHosts).toContain(host);
  }
  await expect(item).toHaveText(`${kernel} · ${host}`);
  await expect(item).toHaveAttribute('title', new RegExp(`Host: ${host}`));
  await keepScreenshot(
    page.locator('#jp-main-statusbar'),
    testInfo,
    'status-bar'
  );

  // The Running panel section: name, kind, host, phase.
  const section = await remoteSection(page);
  const row = panelItems(page).filter({ hasText: model.display_name });
  await expect(row).toHaveCount(1);
  await expect(row.locator('.jp-RemoteKernels-host')).toHaveText(host);
  await expect(row.locator('.jp-RemoteKernels-kind')).toHaveText(
    model.placement?.kind as string
  );
  await expect(row).toHaveClass(/jp-mod-phase-ready/);
  await expect(row).toContainText('ready');
  await keepScreenshot(section, testInfo, 'running-panel');
  const lab = testInfo.outputPath('lab.png');
  await page.screenshot({ path: lab, timeout: 15000 });
  await testInfo.attach('lab', { path: lab, contentType: 'image/png' });

  // Open-notebook action: with the notebook closed (its kernel keeps running),
  // clicking the item opens it again.
  expect(await page.notebook.close(true)).toBeTruthy();
  await expect(page.activity.getTabLocator(`${kernel}.ipynb`)).toHaveCount(0);
  await row.locator('.jp-RunningSessions-itemLabel').click();
  await expect(page.activity.getTabLocator(`${kernel}.ipynb`)).toHaveCount(1);

  // Shut it down from the panel: gone from the panel and from the server.
  await row.hover(); // the shut-down button shows on hover
  await row.locator('.jp-RunningSessions-itemShutdown').click();
  await expect(row).toHaveCount(0);
  await expect
    .poll(async () => (await remoteKernels(page.request)).length, {
      timeout: 30000
    })
    .toBe(0);
}

test.describe('Remote kernels', () => {
  test.afterEach(async ({ request }) => {
    // Nothing a test started may outlive it (the next one counts kernels).
    for (const model of await remoteKernels(request)) {
      await request.delete(`api/kernels/${model.kernel_id}`);
    }
  });

  test('a local launcher kernel shows its host in the status bar and the Running panel', async ({
    page,
    tmpPath
  }, testInfo) => {
    await placementShownThenShutDown(
      page,
      tmpPath,
      testInfo,
      'remote-python',
      null
    );
  });

  test('an ssh kernel shows its host in the status bar and the Running panel', async ({
    page,
    request,
    tmpPath
  }, testInfo) => {
    const info = await setup(request);
    // Skipped only where there is no SSH provisioner or no sshd, and never with
    // JRK_REQUIRE_REAL=1 (.ci/run): there a missing sshd fails. A bed that did
    // not start is a failure.
    expect(info.ssh_error).toBeUndefined();
    if (requireReal()) {
      expect(info.ssh, `JRK_REQUIRE_REAL=1: ${info.ssh_skipped}`).toBeTruthy();
    }
    test.skip(!info.ssh, info.ssh_skipped ?? 'no SSH test hosts');
    const hosts = info.ssh!.hosts.flatMap(h => [h.hostname, h.address]);
    await placementShownThenShutDown(
      page,
      tmpPath,
      testInfo,
      'remote-ssh',
      hosts
    );
  });

  test('the Remote kernels section has room for its kernels', async ({
    page,
    tmpPath
  }, testInfo) => {
    await openNotebookOn(page, tmpPath, 'remote-python');
    await expect(statusItem(page)).toHaveAttribute('data-phase', 'ready', {
      timeout: 60000
    });
    const section = await remoteSection(page);
    const row = panelItems(page).filter({
      hasText: 'Python (remote launcher, local)'
    });
    await expect(row).toHaveCount(1);
    // Not squeezed below the other sections: the section shows its kernel
    // whole, with room for a few more, without the user dragging a splitter.
    await expect
      .poll(async () => (await section.boundingBox())?.height ?? 0, {
        message: 'height of the Remote kernels section (px)'
      })
      .toBeGreaterThan(MIN_SECTION_PX);
    const sectionBox = (await section.boundingBox())!;
    const rowBox = (await row.boundingBox())!;
    expect(rowBox.y).toBeGreaterThanOrEqual(sectionBox.y);
    expect(rowBox.y + rowBox.height).toBeLessThanOrEqual(
      sectionBox.y + sectionBox.height
    );
    await keepScreenshot(
      page.locator('#jp-running-sessions'),
      testInfo,
      'running-panel-height'
    );
  });

  test('the poll intervals are settings, with the defaults of before', async ({
    request
  }) => {
    // From the server, as the Settings Editor gets them (not galata's mock).
    const response = await request.get(
      'lab/api/settings/jupyter-remote-kernels:poller'
    );
    expect(response.ok()).toBeTruthy();
    const { schema } = await response.json();
    expect(schema.properties.fastPollInterval.default).toBe(2000);
    expect(schema.properties.slowPollInterval.default).toBe(15000);
  });

  test('a slow launch shows its phase while it waits', async ({
    page,
    tmpPath
  }, testInfo) => {
    await openNotebookOn(page, tmpPath, 'remote-slow');
    const item = statusItem(page);
    await expect(item).toHaveAttribute('data-phase', 'waiting-for-launcher');
    await expect(item).toContainText('remote-slow');
    await expect(item).toContainText('(waiting-for-launcher)');
    const section = await remoteSection(page);
    const row = panelItems(page).filter({ hasText: 'Python (slow launch)' });
    await expect(row).toHaveClass(/jp-mod-phase-waiting-for-launcher/);
    await expect(row).toContainText('waiting-for-launcher');
    await keepScreenshot(section, testInfo, 'running-panel-launching');
    // Then it becomes ready, in both places, without a reload.
    await expect(item).toHaveAttribute('data-phase', 'ready', {
      timeout: 60000
    });
    await expect(item).not.toContainText('waiting');
    await expect(row).toHaveClass(/jp-mod-phase-ready/, { timeout: 30000 });
  });

  for (const [kernel, expected] of [
    [
      'remote-crash',
      /exited with code 3 before calling back[\s\S]*cannot import ipykernel/
    ],
    ['remote-badspec', /Kernelspec 'remote-badspec'[\s\S]*port_range/]
  ] as const) {
    test(`a failing launch (${kernel}) shows a readable error`, async ({
      page,
      tmpPath
    }, testInfo) => {
      await openNotebookOn(page, tmpPath, kernel);
      const dialog = page.locator('.jp-Dialog');
      await expect(dialog).toBeVisible({ timeout: 60000 });
      await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
        'Error Starting Kernel'
      );
      const body = dialog.locator('.jp-Dialog-body');
      await expect(body).toContainText(expected);
      await expect(body).not.toContainText('Traceback');
      await expect(body).not.toContainText('Unhandled error');
      await keepScreenshot(
        dialog.locator('.jp-Dialog-content'),
        testInfo,
        'error'
      );
      await dialog.locator('.jp-mod-accept').click();
      // The lab then offers to pick another kernel: decline.
      const select = page.locator('.jp-Dialog', { hasText: 'Select Kernel' });
      await expect(select).toBeVisible();
      await select.getByRole('button', { name: 'No Kernel' }).click();
      await expect(page.locator('.jp-Dialog')).toHaveCount(0);
    });
  }
});
