// The `canary` commands that messages and runbooks quote: written once, with no imports, so that any layer (the store's
// errors, the alerting rules' runbooks) can name them.

/**
 * The command that writes a service's first state file: with a digest, which every environment accepts (prod requires
 * one). Without `--commit`: a service file just added is not committed yet, and init commits nothing then.
 */
export function initCommand(service: string, env?: string): string {
  return `npx canary init --service ${service} --image <image>@sha256:<digest>${env ? ` --env ${env}` : ''}`;
}

/**
 * The `canary` command of `verb` in an environment (on one service, or on `<service>` for the reader to fill in), as
 * runbooks quote it: always with `--env`, since the CLI's default is `local`.
 */
export function canaryCommand(verb: 'status' | 'start' | 'advance' | 'promote' | 'rollback', env: string, service?: string): string {
  return `npx canary ${verb} --service ${service ?? '<service>'} --env ${env}`;
}
