/**
 * Closes what a suite opened, in order, even when one close fails or a
 * resource was never opened (a `beforeAll` that failed half-way): every other
 * resource is still closed, so a failing suite cannot leave servers, logs or
 * Kafka clients behind to hold the test process open. The first failure is
 * rethrown afterwards.
 */
export async function closeAll(...items: ({ close(): unknown } | null | undefined)[]): Promise<void> {
  let first: unknown = null;
  for (const item of items) {
    try {
      await item?.close();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== null) throw first;
}
