/**
 * Unit tests of the pure parts (formatting, layout arithmetic, the shared
 * poller with a fetch function of the test's, the REST calls with a fetch of
 * the test's in their server settings): `jlpm test`.
 *
 * ts-jest compiles src/ and the tests as CommonJS; the modules under test import
 * types from @jupyterlab/*, the CommonJS builds of @lumino/* and (api.ts)
 * @jupyterlab/services, so no browser, server or Babel is needed.
 */
module.exports = {
  testEnvironment: 'node',
  testRegex: 'src/.*/.*\\.spec\\.tsx?$',
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  // The built extension has a package.json of the same name.
  modulePathIgnorePatterns: ['<rootDir>/lib/'],
  collectCoverageFrom: ['src/**/*.{ts,tsx}', '!src/**/*.d.ts']
};
