/**
 * How a service's traffic divides between its stable and canary Deployments. Weights always sum to 100: the class
 * cannot be built otherwise.
 */
export class TrafficSplit {
  /** Everything to stable; no canary runs. */
  public static stableOnly(): TrafficSplit {
    return new TrafficSplit(0);
  }

  /**
   * `percent` to the canary, the rest to stable.
   *
   * @throws if `percent` is not an integer from 1 to 100
   */
  public static canary(percent: number): TrafficSplit {
    if (!Number.isInteger(percent) || percent < 1 || percent > 100) {
      throw new Error(`canary weight must be an integer from 1 to 100, got ${percent}`);
    }
    return new TrafficSplit(percent);
  }

  private constructor(
    /** Percent of requests the canary gets. */
    public readonly canaryPercent: number,
  ) {}

  /** Percent of requests stable gets. */
  public get stablePercent(): number {
    return 100 - this.canaryPercent;
  }

  /** Whether a canary runs at all. */
  public get hasCanary(): boolean {
    return this.canaryPercent > 0;
  }
}
