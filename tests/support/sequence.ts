/**
 * Orders some of a file's `test.concurrent` tests: the bodies wrapped by one sequence run one after another, in the
 * order jest starts them, each once the one before has finished (passed or failed, as jest runs tests in order); the
 * bodies of different sequences run side by side. For scenarios that continue what the one before left, while
 * scenarios on state of their own wait for something else at the same time.
 *
 * Jest starts concurrent tests in the order they are written, at most `maxConcurrency` (default 5) at once, and a test
 * waiting for its turn keeps its slot: write each test after the ones it waits for, and mind that a test beyond the
 * fifth starts only when an earlier one has finished.
 *
 * @example
 * const gateway = sequence();
 * test.concurrent('starts a canary', gateway(async () => { … }));
 * test.concurrent('advances it', gateway(async () => { … }));
 */
export function sequence(): (body: () => Promise<void>) => () => Promise<void> {
  let last: Promise<unknown> = Promise.resolve();
  return body => () => {
    const turn = last.then(body);
    last = turn.catch(() => undefined);
    return turn;
  };
}
