/** Where berthd listens unless `--address`/`BERTH_ADDRESS` say otherwise. */
export const DEFAULT_ADDRESS = '/run/berth/berthd.sock';
/** The containerd namespace berth works in unless `--namespace`/`BERTH_NAMESPACE` say otherwise. */
export const DEFAULT_NAMESPACE = 'default';
declare const __BERTH_CLI_VERSION__: string | undefined;

/** This CLI's version: package.json's, put in by the build (tsup `define`). */
export const CLI_VERSION: string = typeof __BERTH_CLI_VERSION__ === 'string' ? __BERTH_CLI_VERSION__ : '0.0.0-dev';

/** The options every command gets. */
export interface Globals {
  address: string;
  namespace: string;
  /** The command being run, for error messages. */
  command?: string;
}

export function clientVersionLine(): string {
  return `berth version ${CLI_VERSION}`;
}
