import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator, TestInfo } from '@playwright/test';

import {
  detailLine,
  escapeRegExp,
  IRemoteKernel,
  keepScreenshot,
  openNotebookOn,
  panelItems,
  remoteKernels,
  remoteSection,
  requireReal,
  setup,
  statusItem,
  statusText
} from './helpers';

/**
 * The least height of the Remote kernels section with a kernel: four rows
 * (JupyterLab's Running panel rows are 24 px high).
 */
const MIN_SECTION_PX = 4 * 24;

/**
 * Open a notebook on `kernel`; check the status bar and the Running panel show
 * where the server says it runs (the backend's `where`, its details), by the
 * kernelspec's display name; shut the kernel down from the panel.
 */
async function placementShownThenShutDown(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  testInfo: TestInfo,
  kernel: string,
  expectedHosts: string[] | null,
  alsoCheck?: (model: IRemoteKernel, row: Locator) => Promise<void>
): Promise<IRemoteKernel> {
  await openNotebookOn(page, tmpPath, kernel);
  // The status bar: "<display name> · <where>" once ready.
  const item = statusItem(page);
  await expect(item).toHaveAttribute('data-phase', 'ready', { timeout: 60000 });
  const [model] = (await remoteKernels(page.request)).filter(
    m => m.kernel_name === kernel
  );
  const placement = model.placement!;
  expect(placement.phase).toBe('ready');
  expect(placement.where).toBeTruthy();
  const host = placement.host as string;
  expect(host).toBeTruthy();
  if (expectedHosts) {
    expect(expectedHosts).toContain(host);
  }
  // The display name the user picked the kernel by, not the kernelspec's
  // folder name.
  expect(model.display_name).not.toBe(kernel);
  await expect(item).toHaveText(statusText(model));
  await expect(item).toHaveAttribute(
    'title',
    new RegExp(escapeRegExp(`Host: ${host}`))
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

  // The Running panel section: where, name, phase.
  const section = await remoteSection(page);
  await sectionTitleWhole(page);
  const row = panelItems(page).filter({ hasText: model.display_name });
  await expect(row).toHaveCount(1);
  await expect(row.locator('.jp-RemoteKernels-where')).toHaveText(
    placement.where
  );
  await expect(row.locator('.jp-RemoteKernels-name')).toHaveText(
    model.display_name
  );
  await expect(row).toHaveClass(/jp-mod-phase-ready/);
  await expect(row).toContainText('ready');
  await keepScreenshot(section, testInfo, 'running-panel');
  const lab = testInfo.outputPath('lab.png');
  await page.screenshot({ path: lab, timeout: 15000 });
  await testInfo.attach('lab', { path: lab, contentType: 'image/png' });
  if (alsoCheck) {
    await alsoCheck(model, row);
  }

  // Open-notebook action: with the notebook closed (its kernel keeps running),
  // clicking the item opens it again.
  expect(await page.notebook.close(true)).toBeTruthy();
  await expect(page.activity.getTabLocator(`${kernel}.ipynb`)).toHaveCount(0);
  // On where it runs: a link in the label opens its own page instead.
  await row.locator('.jp-RemoteKernels-where').click();
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
  return model;
}

/**
 * The Remote kernels section's title shows its whole name beside its
 * "Shut Down All" button, as JupyterLab's other sections do.
 */
async function sectionTitleWhole(page: IJupyterLabPageFixture): Promise<void> {
  const header = page.locator('#jp-running-sessions .jp-AccordionPanel-title', {
    hasText: 'Remote kernels'
  });
  await expect(header.locator('.jp-RunningSessions-shutdownAll')).toHaveText(
    'Shut Down All'
  );
  const label = header.locator('.lm-AccordionPanel-titleLabel');
  await expect(label).toHaveText('Remote kernels');
  // Not cut with an ellipsis: the label's text fits its box.
  await expect
    .poll(() =>
      label.evaluate(node => node.scrollWidth <= node.clientWidth + 1)
    )
    .toBe(true);
}

test.describe('Remote kernels', () => {
  test.afterEach(async ({ request }) => {
    // Nothing a test started may outlive it (the next one counts kernels).
    for (const model of await remoteKernels(request)) {
      await request.delete(`api/kernels/${model.kernel_id}`);
    }
  });

  test('a local launcher kernel shows where it runs in the status bar and the Running panel', async ({
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

  test('an ssh kernel shows where it runs in the status bar and the Running panel', async ({
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

  test('a backend the extension does not know (the toy backend) shows its where and details', async ({
    page,
    request,
    tmpPath
  }, testInfo) => {
    const info = await setup(request);
    // The toy backend is part of the repository (testing/toybackend/): never
    // skipped; a setup that failed is a failure.
    expect(info.toy_error).toBeUndefined();
    expect(info.toy).toBeTruthy();
    const toy = info.toy!;
    const model = await placementShownThenShutDown(
      page,
      tmpPath,
      testInfo,
      toy.kernel,
      null,
      async (model, row) => {
        const placement = model.placement!;
        expect(placement.kind).toBe('toy');
        expect(model.display_name).toBe(toy.display_name);
        // Its own facts, in its order, as the server sent them.
        expect(Object.keys(placement.details)).toEqual(['sandbox', 'docs_url']);
        expect(placement.details.sandbox).toBe(toy.sandbox);
        const url = placement.details.docs_url as string;
        expect(url).toMatch(/^https?:\/\//);
        // Shown by the lab extension that knows no toy: where, each detail in
        // the tooltip, the web address as a link (not followed: no network).
        await expect(row.locator('.jp-RemoteKernels-where')).toHaveText(
          placement.where
        );
        const link = row.getByRole('link', { name: 'docs url' });
        await expect(link).toHaveCount(1);
        await expect(link).toBeVisible();
        await expect(link).toHaveAttribute('href', url);
        await expect(link).toHaveAttribute('title', `docs url: ${url}`);
        await expect(link).toHaveAttribute('target', '_blank');
        const label = row.locator('.jp-RunningSessions-itemLabel');
        await expect(label).toHaveAttribute(
          'title',
          new RegExp(escapeRegExp(detailLine('sandbox', toy.sandbox)))
        );
        await expect(label).toHaveAttribute(
          'title',
          new RegExp(escapeRegExp(detailLine('docs_url', url)))
        );
        await expect(label).toHaveAttribute(
          'title',
          new RegExp(escapeRegExp(`Where: ${placement.where}`))
        );
        await keepScreenshot(row, testInfo, 'running-panel-toy-row');
      }
    );
    expect(model.placement!.where).toContain(toy.sandbox);
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
    await expect(item).toContainText('Python (slow launch) · ');
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
