/** Whether the service takes new traffic; {@link Readiness.shutDown} flips it for good. */
export class Readiness {
  private shuttingDown = false;

  /** True until shutdown starts. */
  get ready(): boolean {
    return !this.shuttingDown;
  }

  /** Marks the service as shutting down: `/readyz` answers 503 and responses close their connection. */
  shutDown(): void {
    this.shuttingDown = true;
  }
}
