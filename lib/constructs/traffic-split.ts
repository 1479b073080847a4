/**
 * How a service's traffic divides between its stable and canary Deployments. Weights always sum to 100: the class
 * cannot be built otherwise.
 */
export class TrafficSplit {
  /** Everything to stable; no canary runs. */
  public static stableOnly(): TrafficSplit {
    return new TrafficSplit(0, false);
  }

  /**
   * `percent` to the canary, the rest to stable. At 0 the canary runs and the pin reaches it, but the weighted route
   * sends it nothing: a canary that is starting, or one being rolled back.
   *
   * @throws if `percent` is not an integer from 0 to 100
   */
  public static canary(percent: number): TrafficSplit {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new Error(`canary weight must be an integer from 0 to 100, got ${percent}`);
    }
    return new TrafficSplit(percent, true);
  }

  private constructor(
    /** Percent of requests the canary gets. */
    public readonly canaryPercent: number,
    /** Whether a canary runs at all (at 0 %, only the pin reaches it). */
    public readonly hasCanary: boolean = false,
  ) {}

  /** Percent of requests stable gets. */
  public get stablePercent(): number {
    return 100 - this.canaryPercent;
  }
}
