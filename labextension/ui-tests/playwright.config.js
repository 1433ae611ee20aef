/**
 * Browser tests of the lab extension: galata's Playwright defaults, Debian's
 * chromium (no browser download), and a real Jupyter Server with the
 * extension started (and stopped, with its kernels) by Playwright.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.JRK_UI_PORT || '18888';
const chromium = process.env.JRK_CHROMIUM || '/usr/bin/chromium';
const args = [
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run'
];
if (process.getuid && process.getuid() === 0) {
  args.push('--no-sandbox');
}

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: './test-results',
  // One server, kernels counted by the tests: run one test at a time.
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 1 : 0,
  timeout: 120000,
  globalTimeout: 20 * 60 * 1000,
  expect: { timeout: 30000 },
  reporter: [
    ['list'],
    ['html', { open: 'never', outputFolder: 'playwright-report' }]
  ],
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: { executablePath: chromium, args },
    trace: 'retain-on-failure',
    video: 'off',
    screenshot: 'only-on-failure',
    // Galata: wait for the lab to be ready, track kernels/sessions it creates.
    autoGoto: true
  },
  webServer: {
    command: 'jupyter lab --config jupyter_server_test_config.py',
    url: `http://127.0.0.1:${port}/lab`,
    timeout: 120000,
    reuseExistingServer: false,
    env: { JRK_UI_PORT: port },
    // SIGTERM lets the server stop its kernels and the SSH test bed it started.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 30000 },
    stdout: 'pipe',
    stderr: 'pipe'
  }
};
